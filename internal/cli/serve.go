package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/benefit"
	"github.com/shebao/shebao/internal/card"
	"github.com/shebao/shebao/internal/certificate"
	"github.com/shebao/shebao/internal/config"
	"github.com/shebao/shebao/internal/contrib"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/demo"
	"github.com/shebao/shebao/internal/keys"
	"github.com/shebao/shebao/internal/notify"
	"github.com/shebao/shebao/internal/policy"
	"github.com/shebao/shebao/internal/registry"
	"github.com/shebao/shebao/internal/settle"
	"github.com/shebao/shebao/internal/transfer"
	"github.com/shebao/shebao/internal/web"
)

func runServe(ctx context.Context, io IO, args []string) error {
	fs := newFlags("serve", io)
	var c config.Serve
	finish := config.RegisterServe(fs, io.Env, &c)
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := finish(); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	log := newLogger(io.Err, c.LogLevel, c.LogFormat)

	d, err := openDB(ctx, c.DB)
	if err != nil {
		return err
	}
	defer d.Close()
	key, err := secretKey(c.SecretKeyFile)
	if err != nil {
		return err
	}
	authSvc := auth.New(d, auth.Options{SessionTTL: c.SessionTTL, SecretKey: key})
	if n, err := authSvc.SealStoredSecrets(ctx); err != nil {
		return err
	} else if n > 0 {
		log.Info("sealed the TOTP secrets stored before sealing", "accounts", n)
	}
	policies := policy.NewStore(d)
	reg := registry.New(d, authSvc, policies)
	keySvc := keys.New(d, policies, log)
	defer keySvc.Seal(context.Background())
	cards := card.New(d, policies, keySvc)
	contribs := contrib.New(d, policies)
	settlements := settle.New(d, policies, cards, keySvc, reg, settle.Options{})
	benefits := benefit.New(d, policies, reg)
	defer settlements.Close()
	var history sync.WaitGroup // the demo's background loading, if any
	defer history.Wait()       // before the database closes
	go sweepCards(ctx, cards, log)

	if err := checkInstallation(ctx, d, c.Demo); err != nil {
		return err
	}
	if c.Demo {
		log.Warn("DEMO MODE: loading the demo city; never use this database for real people")
		if err := keySvc.UnsealDevelopment(ctx, demo.Custodians); err != nil {
			return err
		}
		city := demo.City{DB: d, Auth: authSvc, Policies: policies, Registry: reg, Keys: keySvc, Cards: cards, Contrib: contribs, Settle: settlements, Benefit: benefits, Now: d.Now,
			Progress: func(f string, a ...any) { log.Info(fmt.Sprintf(f, a...)) }}
		logins, err := demo.Load(ctx, city)
		if err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		printDemoLogins(io.Out, c.Addr, logins)
		// The older months of contributions, and then the months of medical settlements that pay
		// from the personal accounts they credit, load while the server already answers; shutdown
		// waits.
		history.Add(1)
		go func() {
			defer history.Done()
			start := time.Now()
			if err := demo.History(ctx, city); err != nil {
				if ctx.Err() == nil {
					log.Error("demo: contribution history", "err", err)
				}
				return
			}
			log.Info(fmt.Sprintf("demo: %d months of contributions in place (history loaded in %v)", demo.HistoryMonths, time.Since(start).Round(time.Millisecond)))
			start = time.Now()
			if err := demo.MedicalHistory(ctx, city); err != nil {
				if ctx.Err() == nil {
					log.Error("demo: medical settlements", "err", err)
				}
				return
			}
			log.Info(fmt.Sprintf("demo: %d months of medical settlements in place (loaded in %v)", demo.SettledMonths, time.Since(start).Round(time.Millisecond)))
		}()
	}

	// One-time codes leave through the outbox: in a demo they stay there for the demo's messages
	// page; otherwise the configured SMS gateway sends them.
	var sender notify.Sender
	switch {
	case c.Demo:
		sender = notify.Inbox{}
	case c.SMSGateway != "":
		token := ""
		if c.SMSTokenFile != "" {
			b, err := os.ReadFile(c.SMSTokenFile)
			if err != nil {
				return fmt.Errorf("--sms-token-file: %w", err)
			}
			token = strings.TrimSpace(string(b))
		}
		sender = notify.Gateway{URL: c.SMSGateway, Token: token}
	default:
		log.Warn("no SMS gateway configured (--sms-gateway): activation codes wait in the outbox until one is")
	}
	if sender != nil {
		dispatcher := &notify.Dispatcher{DB: d, Sender: sender, Log: log}
		dctx, stop := context.WithCancel(ctx)
		defer stop() // runs before history.Wait, so an early return does not wait for ever
		history.Add(1)
		go func() { defer history.Done(); dispatcher.Run(dctx) }()
	}

	if keySvc.Sealed() {
		log.Warn("the key service is sealed: custodians must enter their components (shebao keys unseal, or the portal's Keys page)")
	}
	srv, err := web.New(web.Deps{DB: d, Auth: authSvc, Policies: policies, Registry: reg, Keys: keySvc, Cards: cards, Contrib: contribs, Settle: settlements, Benefit: benefits, Log: log,
		Certificates: certificate.New(d, keySvc, policies, reg), PublicURL: c.PublicURL,
		SecureCookies: c.SecureCookies, Version: Version(), Demo: c.Demo})
	if err != nil {
		return err
	}
	anchorCtx, stopAnchor := context.WithCancel(ctx)
	var anchoring sync.WaitGroup
	anchoring.Go(func() { anchorAudit(anchorCtx, d, c.AuditHeadEvery, log, srv.RecordAuditHead) })
	anchoring.Go(func() { deliverTransfers(anchorCtx, transfer.New(d), log) })
	defer func() { stopAnchor(); anchoring.Wait() }() // before the database closes
	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return err
	}
	hs := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
	log.Info("serving", "addr", "http://"+ln.Addr().String(), "database", string(d.Dialect()), "version", Version())
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), c.ShutdownGrace)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// deliverTransfers hands the transfers' messages between regions every ten seconds: a step's
// own request delivers its messages at once, and this finishes what a stop in between left (the
// server stopped after a step committed, or a delivery failed).
func deliverTransfers(ctx context.Context, svc *transfer.Service, log *slog.Logger) {
	t := time.NewTicker(10 * time.Second)
	defer t.Stop()
	for {
		if n, err := svc.Deliver(ctx); err != nil && ctx.Err() == nil {
			log.Error("transfer delivery failed", "err", err)
		} else if n > 0 {
			log.Info("transfer messages delivered", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// sweepCards runs the clock's card transitions (a temporary loss lapsing, expiry) every minute.
func sweepCards(ctx context.Context, cards *card.Service, log *slog.Logger) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		if n, err := cards.Sweep(ctx); err != nil && ctx.Err() == nil {
			log.Error("card sweep failed", "err", err)
		} else if n > 0 {
			log.Info("card sweep", "changed", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// anchorAudit takes the audit head at start and then every interval, and writes it to the log and
// to /metrics (record), from where log storage and the monitoring system keep it outside the
// database; `shebao audit verify --expect-head SEQ:HASH` later checks the chain against any of
// them. It also logs an error when the head it took before is no longer in the chain.
func anchorAudit(ctx context.Context, d *db.DB, every time.Duration, log *slog.Logger, record func(audit.Head, time.Time, bool)) {
	var a audit.Anchor
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		h, err := a.Next(ctx, d.R())
		var lost *audit.Problem
		switch {
		case errors.As(err, &lost):
			log.Error("audit chain: a head taken earlier is no longer in it (entries deleted or rewritten)", "seq", lost.Seq, "reason", lost.Reason)
		case err != nil:
			if ctx.Err() == nil {
				log.Error("audit head", "err", err)
			}
		}
		if err == nil || lost != nil {
			log.Info("audit head", "head", h.String(), "seq", h.Seq, "hash", h.Hash)
			record(h, d.Now(), lost != nil)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
