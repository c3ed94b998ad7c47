// Package config builds shebao's one configuration struct from command-line flags, SHEBAO_*
// environment variables and secret files, validates it once, and hands it down. Nothing else in
// shebao reads the environment.
//
// Every flag --some-name can also be set as SHEBAO_SOME_NAME; a flag given on the command line wins.
// Secrets (the PostgreSQL URL, which may hold a password) can instead be read from a file named by
// --db-file / SHEBAO_DB_FILE, so they need not appear in the process list or the environment.
package config

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// DB says which database to open.
type DB struct {
	DataDir string // SQLite lives in DataDir/shebao.db when URL is empty
	URL     string // postgres://… or sqlite:PATH
	URLFile string // file holding URL
}

// Serve is the configuration of the server.
type Serve struct {
	DB
	Addr          string
	Demo          bool
	LogLevel      slog.Level
	LogFormat     string // "text" or "json"
	SecureCookies bool   // mark cookies Secure even when the request did not arrive over TLS (behind a TLS proxy)
	SessionTTL    time.Duration
	ShutdownGrace time.Duration
	// SecretKeyFile holds the key that seals TOTP secrets at rest; made on first start when
	// missing. "" = DataDir/secret.key.
	SecretKeyFile string
	SMSGateway    string // URL of the HTTP SMS gateway for one-time codes; "" = keep them queued
	SMSTokenFile  string // file holding the gateway's bearer token
	// PublicURL is the address people reach the portal at, printed on certificates under their QR
	// code; "" = the scheme and host each request came to.
	PublicURL string
	// AuditHeadEvery is how often the server writes the audit head to its log and /metrics, for
	// keeping outside the database.
	AuditHeadEvery time.Duration
}

// Env looks a variable up; os.Getenv in production, a map in tests.
type Env func(string) string

func envName(flagName string) string {
	return "SHEBAO_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

func str(fs *flag.FlagSet, env Env, p *string, name, def, usage string) {
	if v := env(envName(name)); v != "" {
		def = v
	}
	fs.StringVar(p, name, def, usage+" ("+envName(name)+")")
}

// RegisterDB adds the database flags every command that opens the database shares.
func RegisterDB(fs *flag.FlagSet, env Env, c *DB) {
	str(fs, env, &c.DataDir, "data", "shebao-data", "directory of the embedded SQLite database")
	str(fs, env, &c.URL, "db", "", "database URL: postgres://… for PostgreSQL (default: SQLite in --data)")
	str(fs, env, &c.URLFile, "db-file", "", "file holding the database URL, for secrets")
}

// Resolve reads the URL file if one is named and checks the result.
func (c *DB) Resolve() error {
	if c.URLFile != "" {
		if c.URL != "" {
			return errors.New("config: give --db or --db-file, not both")
		}
		b, err := os.ReadFile(c.URLFile)
		if err != nil {
			return fmt.Errorf("config: --db-file: %w", err)
		}
		c.URL = strings.TrimSpace(string(b))
		c.URLFile = "" // read: resolving again is harmless
	}
	if c.URL == "" && c.DataDir == "" {
		return errors.New("config: --data must not be empty when --db is not given")
	}
	return nil
}

// RegisterServe adds the server's flags.
func RegisterServe(fs *flag.FlagSet, env Env, c *Serve) (finish func() error) {
	RegisterDB(fs, env, &c.DB)
	str(fs, env, &c.Addr, "addr", "127.0.0.1:8080", "address to listen on")
	var level, format, ttl, headEvery string
	envErr := errors.Join(
		boolean(fs, env, &c.Demo, "demo", "load the demo city and print its logins (never in production)"),
		boolean(fs, env, &c.SecureCookies, "secure-cookies", "always mark cookies Secure (set when a TLS proxy stands in front)"))
	str(fs, env, &level, "log-level", "info", "debug, info, warn or error")
	str(fs, env, &format, "log-format", "text", "text or json")
	str(fs, env, &ttl, "session-ttl", "12h", "how long a portal login lasts")
	str(fs, env, &c.SecretKeyFile, "secret-key-file", "", "file with the key that seals TOTP secrets (default: secret.key in --data; made if missing)")
	str(fs, env, &c.SMSGateway, "sms-gateway", "", "URL of the HTTP SMS gateway that sends one-time codes")
	str(fs, env, &c.SMSTokenFile, "sms-token-file", "", "file holding the SMS gateway's bearer token")
	str(fs, env, &c.PublicURL, "public-url", "", "the portal's public address (https://…), printed on certificates for checking them; default: the host each request came to")
	str(fs, env, &headEvery, "audit-head-every", "10m", "how often the audit head (SEQ:HASH) is written to the log and /metrics, to be kept outside the database")
	return func() error {
		if envErr != nil {
			return envErr
		}
		var err error
		if err := c.LogLevel.UnmarshalText([]byte(level)); err != nil {
			return fmt.Errorf("config: --log-level: %q is not debug, info, warn or error", level)
		}
		if format != "text" && format != "json" {
			return fmt.Errorf("config: --log-format: %q is not text or json", format)
		}
		c.LogFormat = format
		if c.SessionTTL, err = time.ParseDuration(ttl); err != nil || c.SessionTTL < time.Minute {
			return fmt.Errorf("config: --session-ttl: %q is not a duration of at least 1m", ttl)
		}
		if c.AuditHeadEvery, err = time.ParseDuration(headEvery); err != nil || c.AuditHeadEvery < time.Second {
			return fmt.Errorf("config: --audit-head-every: %q is not a duration of at least 1s", headEvery)
		}
		if c.PublicURL != "" {
			u, err := url.Parse(c.PublicURL)
			if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || strings.Trim(u.Path, "/") != "" || u.RawQuery != "" || u.Fragment != "" {
				return fmt.Errorf("config: --public-url: %q is not an address like https://shebao.example.gov.cn", c.PublicURL)
			}
			c.PublicURL = u.Scheme + "://" + u.Host
		}
		c.ShutdownGrace = 10 * time.Second
		if c.SecretKeyFile == "" {
			c.SecretKeyFile = filepath.Join(c.DataDir, "secret.key")
		}
		return c.DB.Resolve()
	}
}

// boolean adds a switch (--demo alone means true) whose default comes from the environment.
func boolean(fs *flag.FlagSet, env Env, p *bool, name, usage string) error {
	var err error
	def := false
	if v := env(envName(name)); v != "" {
		if def, err = strconv.ParseBool(v); err != nil {
			err = fmt.Errorf("config: %s: %q is not true or false", envName(name), v)
		}
	}
	fs.BoolVar(p, name, def, usage+" ("+envName(name)+")")
	return err
}
