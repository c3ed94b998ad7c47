package cli

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shebao/shebao/internal/apdu"
	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/card"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/ident"
	"github.com/shebao/shebao/internal/keys"
	"github.com/shebao/shebao/internal/ledger"
	"github.com/shebao/shebao/internal/money"
	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/policy"
	"github.com/shebao/shebao/internal/registry"
	"github.com/shebao/shebao/internal/settle"
)

// A city to settle in, for `bench settle` and the settlement crash test.
//
// What decides whether a settlement is right goes through the real services: the policy (policy
// store), the staff and operator accounts and their API tokens (auth), the keystore, its unsealing
// and the region's issuer keys made under dual control (keys), the institutions registered by a
// clerk and approved by a reviewer (settle), every medical account's opening balance as balanced
// ledger entries (ledger.Post, so that balances equal postings), and every software card
// personalised by the key service from its card identification code (keys.Personalise). What
// would take hours through the window for 100,000 people and only has to exist is inserted in
// bulk: the persons, their medical insurance from two months ago, and their social security
// cards, active, with the identification code and key version that production would have
// written (as card.ImportResult does).

// benchPIN is every bench card's PIN.
const benchPIN = "135790"

// openingBalance is every medical account's balance before the run: enough for a few dozen bills.
const openingBalance = money.Fen(3_000_00)

type settleCity struct {
	region       string
	institutions []benchInstitution
	cards        []*benchCard
	custodians   []benchCustodian // to unseal a restarted server over the API
}

type benchInstitution struct {
	code, kind string
	token      string // the operator's API token, as the hospital's system holds it
}

type benchCustodian struct {
	token     string
	component string // hex, as the custodian types it
}

// benchCard is one person's card in its reader. A card is in one terminal at a time: busy is held
// from the cryptogram to the answer.
type benchCard struct {
	personID int64
	cardID   string // the identification code, as stored
	card     *apdu.SoftCard
	busy     atomic.Bool
}

// buildSettleCity builds the city in d and leaves ks unsealed with the region's issuer keys.
func buildSettleCity(ctx context.Context, d *db.DB, ks *keys.Service, region string, persons, hospitals int, progress func(string, ...any)) (*settleCity, error) {
	city := &settleCity{region: region}
	month := period.MonthOf(d.Now())
	pol := policy.NewStore(d)
	p, _, err := policy.Default(region, month.Add(-3))
	if err != nil {
		return nil, err
	}
	if _, err := pol.Install(ctx, audit.System, p); err != nil {
		return nil, err
	}
	a := auth.New(d, auth.Options{})
	staff := map[string]*auth.Principal{}
	for _, u := range []struct {
		name string
		role auth.Role
	}{{"bench-clerk", auth.Clerk}, {"bench-reviewer", auth.Reviewer}, {"bench-admin", auth.Admin}, {"bench-custodian-1", auth.Custodian}, {"bench-custodian-2", auth.Custodian}} {
		user, _, err := a.CreateUser(ctx, nil, audit.System, auth.NewUser{Username: u.name, Role: u.role, Regions: []string{region}})
		if err != nil {
			return nil, fmt.Errorf("user %s: %w", u.name, err)
		}
		staff[u.name] = &auth.Principal{User: user}
	}

	// A production keystore with two custodians, unsealed here by their components; the issuer keys
	// requested by the administrator and approved by both custodians.
	names := []string{"bench-custodian-1", "bench-custodian-2"}
	var comps [][]byte
	for _, name := range names {
		c, _, err := keys.NewComponent()
		if err != nil {
			return nil, err
		}
		b, err := keys.ParseComponent(c)
		if err != nil {
			return nil, err
		}
		tok, err := a.IssueToken(ctx, nil, audit.System, name, "bench")
		if err != nil {
			return nil, err
		}
		comps = append(comps, b)
		city.custodians = append(city.custodians, benchCustodian{token: tok, component: c})
	}
	if err := ks.Init(ctx, audit.System, keys.Production, names, comps); err != nil {
		return nil, err
	}
	for i, name := range names {
		if _, err := ks.EnterComponent(ctx, staff[name], comps[i]); err != nil {
			return nil, err
		}
	}
	req, err := ks.Request(ctx, staff["bench-admin"], keys.NewRequest{Kind: keys.Generate, Region: region})
	if err != nil {
		return nil, err
	}
	for _, name := range names {
		if _, err := ks.Approve(ctx, staff[name], req.ID); err != nil {
			return nil, err
		}
	}

	// The institutions: hospitals of each level and, one in five, pharmacies; each with an operator
	// and its token.
	cards := card.New(d, pol, ks)
	svc := settle.New(d, pol, cards, ks, registry.New(d, a, pol), settle.Options{})
	defer svc.Close()
	for i := 1; i <= hospitals; i++ {
		kind, level, letter := settle.Hospital, 1+i%3, "H"
		if i%5 == 0 {
			kind, level, letter = settle.Pharmacy, 0, "P"
		}
		code := fmt.Sprintf("%s%s%05d", letter, region, i)
		if _, err := svc.RegisterInstitution(ctx, staff["bench-clerk"], settle.NewInstitution{Code: code, Name: fmt.Sprintf("测试定点机构%d", i),
			Kind: kind, Level: level, BankAccount: fmt.Sprintf("62220000%08d", i)}); err != nil {
			return nil, err
		}
		if _, err := svc.ApproveInstitution(ctx, staff["bench-reviewer"], code); err != nil {
			return nil, err
		}
		op := "bench-op-" + strings.ToLower(code)
		if _, _, err := a.CreateUser(ctx, nil, audit.System, auth.NewUser{Username: op, Role: auth.Institution, Regions: []string{region}, InstitutionCode: code}); err != nil {
			return nil, err
		}
		tok, err := a.IssueToken(ctx, nil, audit.System, op, "his")
		if err != nil {
			return nil, err
		}
		city.institutions = append(city.institutions, benchInstitution{code: code, kind: kind, token: tok})
	}

	t0 := time.Now()
	specs, err := insertCardholders(ctx, d, region, month, persons)
	if err != nil {
		return nil, err
	}
	progress("  %d persons, their medical insurance and active cards inserted in %v", persons, time.Since(t0).Round(time.Millisecond))

	t0 = time.Now()
	if err := fundAccounts(ctx, d, region, specs); err != nil {
		return nil, err
	}
	progress("  %d medical accounts opened with %s each through the ledger in %v", persons, openingBalance, time.Since(t0).Round(time.Millisecond))

	// Personalisation is the key service's; the two cores share it.
	t0 = time.Now()
	city.cards = make([]*benchCard, len(specs))
	var wg sync.WaitGroup
	errc := make(chan error, 2)
	for w := range 2 {
		wg.Go(func() {
			for i := w; i < len(specs); i += 2 {
				sc, err := ks.Personalise(ctx, specs[i].spec)
				if err != nil {
					errc <- err
					return
				}
				city.cards[i] = &benchCard{personID: specs[i].personID, cardID: apdu.FormatCardID(specs[i].spec.CardID), card: sc}
			}
		})
	}
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		return nil, fmt.Errorf("personalise: %w", err)
	}
	progress("  %d software cards personalised by the key service in %v", persons, time.Since(t0).Round(time.Millisecond))
	return city, nil
}

type cardholder struct {
	personID int64
	spec     keys.CardSpec
}

// insertCardholders inserts n persons insured for medical care since two months ago, each with an
// active social security card, and returns what the manufacturer personalises each card with.
func insertCardholders(ctx context.Context, d *db.DB, region string, month period.Month, n int) ([]cardholder, error) {
	var out []cardholder
	err := d.Write(ctx, func(tx *db.Tx) error {
		out = out[:0]
		var base int64
		if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(id), 0) FROM persons").Scan(&base); err != nil {
			return err
		}
		var cardBase int64
		if err := tx.QueryRowContext(ctx, "SELECT COALESCE(MAX(id), 0) FROM cards").Scan(&cardBase); err != nil {
			return err
		}
		now := db.FormatTime(tx.Now)
		valid := db.FormatTime(tx.Now.AddDate(10, 0, 0))
		ps := tx.Inserter("persons", "id", "region", "id_number", "id_kind", "name", "gender", "birth_date", "hukou_type", "created_at", "created_by", "updated_at")
		pa := tx.Inserter("participations", "region", "person_id", "insurance", "start_month", "source", "created_at")
		cs := tx.Inserter("cards", "id", "region", "person_id", "kind", "application_no", "state", "channel", "applied_by", "applied_at", "state_at",
			"card_number", "card_id", "chip_serial", "atr", "key_version", "valid_until")
		born := time.Date(1950, 1, 1, 0, 0, 0, 0, time.UTC)
		for i := range n {
			pid, cid := base+int64(i)+1, cardBase+int64(i)+1
			birth := born.AddDate(0, 0, i/900)
			idn, err := ident.MakeIDNumber(fmt.Sprintf("330106%s%03d", birth.Format("20060102"), i%900+100))
			if err != nil {
				return err
			}
			gender := "male"
			g := byte('1')
			if idn.Gender() == ident.Female {
				gender, g = "female", '2'
			}
			if err := ps.Add(ctx, pid, region, string(idn), "resident", "参保人", gender, birth.Format("2006-01-02"), "local", now, "bench", now); err != nil {
				return err
			}
			if err := pa.Add(ctx, region, pid, string(policy.Medical), int(month.Add(-2)), "bench", now); err != nil {
				return err
			}
			number, err := ident.MakeCardNumber(fmt.Sprintf("B%07d", cid))
			if err != nil {
				return err
			}
			serial := fmt.Sprintf("%08X", uint32(cid*2654435761))
			cardID := fmt.Sprintf("%sD156000005%s%08X", region, serial, cid)
			if err := cs.Add(ctx, cid, region, pid, "social_security", fmt.Sprintf("BENCH%012d", cid), string(card.Active), "window", "bench", now, now,
				string(number), cardID, serial, "3B6C000000815454", 1, valid); err != nil {
				return err
			}
			id, err := apdu.ParseCardID(cardID)
			if err != nil {
				return err
			}
			out = append(out, cardholder{personID: pid, spec: keys.CardSpec{CardNumber: string(number), CardID: id, PIN: benchPIN, IssueDate: tx.Now,
				ExpiryDate: tx.Now.AddDate(10, 0, 0), Holder: apdu.HolderData{IDNumber: string(idn), Name: "参保人", Gender: g, Ethnicity: 1, BirthDate: birth}}})
		}
		for _, in := range []*db.Inserter{ps, pa, cs} {
			if err := in.Close(ctx); err != nil {
				return err
			}
		}
		if tx.Dialect == db.Postgres {
			// Rows inserted with their ids leave the identity sequences behind.
			for _, t := range []string{"persons", "cards"} {
				if _, err := tx.ExecContext(ctx, "SELECT setval(pg_get_serial_sequence('"+t+"', 'id'), (SELECT MAX(id) FROM "+t+"))"); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return out, err
}

// fundAccounts opens every medical account with openingBalance, a thousand persons an entry, as
// the contributions' personal-account credits would: the bank clearing account debited, the
// persons' accounts credited; and credits the pool with what the run may take from it.
func fundAccounts(ctx context.Context, d *db.DB, region string, holders []cardholder) error {
	const per = 1000
	for start := 0; start < len(holders); start += per * 20 {
		if err := d.Write(ctx, func(tx *db.Tx) error {
			for s := start; s < min(start+per*20, len(holders)); s += per {
				chunk := holders[s:min(s+per, len(holders))]
				pool := money.Fen(len(chunk)) * 10_000_00
				ps := []ledger.Posting{{Account: ledger.ClearingAccount(region), Amount: money.Fen(len(chunk))*openingBalance + pool},
					{Account: ledger.FundAccount(region, string(policy.Medical)), Amount: -pool}}
				for _, h := range chunk {
					ps = append(ps, ledger.Posting{Account: ledger.PersonAccount(region, ledger.PersonMedical, h.personID), Amount: -openingBalance})
				}
				if _, err := ledger.Post(ctx, tx, ledger.Entry{IdemKey: fmt.Sprintf("bench-opening:%d", s), Region: region, Cause: "opening_balance",
					CauseRef: fmt.Sprintf("bench:%d-%d", chunk[0].personID, chunk[len(chunk)-1].personID), Postings: ps}); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}
