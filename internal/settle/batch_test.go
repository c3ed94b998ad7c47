package settle

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/shebao/shebao/internal/apdu"
	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/card"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/db/dbtest"
	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/ident"
	"github.com/shebao/shebao/internal/keys"
	"github.com/shebao/shebao/internal/ledger"
	"github.com/shebao/shebao/internal/money"
	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/policy"
	"github.com/shebao/shebao/internal/registry"
)

// A city small enough to reason about, with social security cards that pay: the writer's batch is
// driven directly, so that which requests share a transaction is the test's choice.

const batchRegion = "330100"
const batchInst = "H33010000001"
const batchPIN = "246810"

type batchFixture struct {
	t     testing.TB
	d     *db.DB
	svc   *Service
	op    *auth.Principal
	keys  *keys.Service
	cards []*apdu.SoftCard
	ids   []int64 // person ids, by card
}

// newBatchFixture: one level-3 hospital and n persons with active cards and medical accounts
// holding balances[i]; the person of card lost has it reported lost, the person of card
// uninsured has no medical insurance.
func newBatchFixture(t testing.TB, d *db.DB, balances []money.Fen, lost, uninsured int) *batchFixture {
	t.Helper()
	ctx := context.Background()
	pol := policy.NewStore(d)
	month := period.MonthOf(d.Now())
	p, _, _ := policy.Default(batchRegion, month.Add(-3))
	if _, err := pol.Install(ctx, audit.System, p); err != nil {
		t.Fatal(err)
	}
	a := auth.New(d, auth.Options{})
	ks := keys.New(d, pol, slog.New(slog.NewTextHandler(io.Discard, nil)))
	person := func(name string, r auth.Role) *auth.Principal {
		return &auth.Principal{User: auth.User{Username: name, Role: r, Roles: []auth.Role{r}, Regions: []string{batchRegion}}}
	}
	if err := ks.UnsealDevelopment(ctx, []string{"alice", "bob"}); err != nil {
		t.Fatal(err)
	}
	req, err := ks.Request(ctx, person("root", auth.Admin), keys.NewRequest{Kind: keys.Generate, Region: batchRegion})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"alice", "bob"} {
		if _, err := ks.Approve(ctx, person(c, auth.Custodian), req.ID); err != nil {
			t.Fatal(err)
		}
	}
	cards := card.New(d, pol, ks)
	f := &batchFixture{t: t, d: d, svc: New(d, pol, cards, ks, registry.New(d, a, pol), Options{}), keys: ks}
	t.Cleanup(f.svc.Close)
	if _, err := f.svc.RegisterInstitution(ctx, person("clerk", auth.Clerk), NewInstitution{Code: batchInst, Name: "医院", Kind: Hospital, Level: 3, BankAccount: "6222000000000001"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.ApproveInstitution(ctx, person("reviewer", auth.Reviewer), batchInst); err != nil {
		t.Fatal(err)
	}
	f.op = &auth.Principal{User: auth.User{Username: "op", Role: auth.Institution, Roles: []auth.Role{auth.Institution}, Regions: []string{batchRegion},
		InstitutionCode: batchInst}}
	f.addPersons(balances, lost, uninsured, func(int) bool { return true })
	return f
}

// addPersons inserts a person for each balance, with an active card (lost: reported lost),
// medical insurance since two months ago (but uninsured) and a medical account holding the
// balance, in one transaction; the key service personalises the cards of the persons withCard
// picks, into f.cards in order.
func (f *batchFixture) addPersons(balances []money.Fen, lost, uninsured int, withCard func(int) bool) {
	f.t.Helper()
	ctx := context.Background()
	d := f.d
	month := period.MonthOf(d.Now())
	var specs []keys.CardSpec
	var ids []int64
	if err := d.Write(ctx, func(tx *db.Tx) error {
		specs, ids = nil, nil
		now := db.FormatTime(tx.Now)
		ps := tx.Inserter("persons", "id", "region", "id_number", "id_kind", "name", "gender", "birth_date", "hukou_type", "created_at", "created_by", "updated_at")
		cs := tx.Inserter("cards", "id", "region", "person_id", "kind", "application_no", "state", "channel", "applied_by", "applied_at", "state_at",
			"card_number", "card_id", "key_version")
		pa := tx.Inserter("participations", "region", "person_id", "insurance", "start_month", "source", "created_at")
		var open []ledger.Posting
		var total money.Fen
		for i, bal := range balances {
			pid := int64(i + 1)
			born := time.Date(1950, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i/900)
			idn, err := ident.MakeIDNumber(fmt.Sprintf("330106%s%03d", born.Format("20060102"), i%900+100))
			if err != nil {
				return err
			}
			cardID := fmt.Sprintf("%sD15600000512345678%08X", batchRegion, pid)
			state := card.Active
			if i == lost {
				state = card.Lost
			}
			if err := ps.Add(ctx, pid, batchRegion, string(idn), "resident", "参保人", "male", born.Format("2006-01-02"), "local", now, "test", now); err != nil {
				return err
			}
			if err := cs.Add(ctx, pid, batchRegion, pid, "social_security", fmt.Sprintf("APP%d", pid), string(state), "window", "test", now, now,
				fmt.Sprintf("C%d", pid), cardID, 1); err != nil {
				return err
			}
			if i != uninsured {
				if err := pa.Add(ctx, batchRegion, pid, "medical", int(month.Add(-2)), "test", now); err != nil {
					return err
				}
			}
			if bal > 0 {
				open = append(open, ledger.Posting{Account: ledger.PersonAccount(batchRegion, ledger.PersonMedical, pid), Amount: -bal})
				total += bal
			}
			if withCard(i) {
				id, _ := apdu.ParseCardID(cardID)
				specs = append(specs, keys.CardSpec{CardNumber: "B7K334774", CardID: id, PIN: batchPIN, IssueDate: tx.Now, ExpiryDate: tx.Now.AddDate(10, 0, 0),
					Holder: apdu.HolderData{IDNumber: string(idn), Name: "参保人", Gender: '1', Ethnicity: 1, BirthDate: idn.BirthDate()}})
				ids = append(ids, pid)
			}
		}
		for _, in := range []*db.Inserter{ps, cs, pa} {
			if err := in.Close(ctx); err != nil {
				return err
			}
		}
		if len(open) == 0 {
			return nil
		}
		_, err := ledger.Post(ctx, tx, ledger.Entry{IdemKey: "open", Region: batchRegion, Cause: "test", CauseRef: "open",
			Postings: append(open, ledger.Posting{Account: ledger.ClearingAccount(batchRegion), Amount: total})})
		return err
	}); err != nil {
		f.t.Fatal(err)
	}
	for i, spec := range specs {
		sc, err := f.keys.Personalise(ctx, spec)
		if err != nil {
			f.t.Fatal(err)
		}
		f.cards, f.ids = append(f.cards, sc), append(f.ids, ids[i])
	}
}

// bill is an outpatient bill of A items, in yuan.
func (f *batchFixture) bill(key string, amounts ...string) Request {
	r := Request{IdemKey: key, Kind: policy.Outpatient, Date: period.Today(f.d.Now()).Format("2006-01-02")}
	for i, a := range amounts {
		r.Items = append(r.Items, ItemIn{Code: fmt.Sprintf("I%d", i), Name: "药品", Category: "A", Amount: a})
	}
	return r
}

// signed is r with the card's proof over signedBill (r's own bill when nil), as a terminal sends it.
func (f *batchFixture) signed(c int, r Request, signedBill *Request) Request {
	f.t.Helper()
	if signedBill == nil {
		signedBill = &r
	}
	var un [4]byte
	_, _ = rand.Read(un[:])
	data, err := CardData(batchInst, *signedBill, un)
	if err != nil {
		f.t.Fatal(err)
	}
	pay, err := (&apdu.Terminal{Card: f.cards[c]}).Pay(context.Background(), batchPIN, data)
	if err != nil {
		f.t.Fatal(err)
	}
	r.Identity = Identity{Card: &CardProof{CardID: apdu.FormatCardID(pay.CardID), KeyVersion: int(pay.KeyVersion), ATC: int(pay.ATC),
		Unpredictable: strings.ToUpper(hex.EncodeToString(un[:])), Cryptogram: strings.ToUpper(hex.EncodeToString(pay.Cryptogram[:]))}}
	return r
}

func (f *batchFixture) job(r Request) *job {
	f.t.Helper()
	j, err := f.svc.settleJob(context.Background(), f.op, r)
	if err != nil {
		f.t.Fatal(err)
	}
	return j
}

// answer is what a request was answered, in words that do not depend on the keys of the city.
func answer(o outcome) string {
	if o.err != nil {
		e, _ := errs.As(o.err)
		if e == nil {
			return "error: " + o.err.Error()
		}
		return fmt.Sprintf("%s: %s", e.Code, e.Message)
	}
	st := o.v.(Settlement)
	sp := st.Split
	return fmt.Sprintf("%s replay=%v total %s deductible %s pool %s account %s cash %s cap left %s balance %s", st.ID, st.Replay, sp.Total, sp.Deductible,
		sp.Pool, sp.Account, sp.Cash, sp.CapLeft, st.AccountBalance)
}

// scenario is a batch that meets every case settleTogether decides, after one settlement made
// before it: three bills of one person whose account runs short, a proof replayed under another
// key, the same request twice, one key with two contents, a lost card, an uninsured person, a retry
// of the settlement made before, a bill changed after the card signed it, and two more settlements
// of the person settled before, the second crossing the year's deductible.
func scenario(f *batchFixture) (before *job, batch []*job) {
	before = f.job(f.signed(4, f.bill("k-before", "80.00"), nil))
	retry := *before.together.(*cardRequest)
	three := []Request{f.signed(0, f.bill("k0", "60.00"), nil), f.signed(0, f.bill("k1", "60.00"), nil), f.signed(0, f.bill("k2", "60.00", "15.50"), nil)}
	replayed := f.signed(1, f.bill("k3", "20.00"), nil)
	again := replayed
	again.IdemKey = "k4"
	twice := f.signed(2, f.bill("k5", "33.30"), nil)
	first := f.signed(3, f.bill("k7", "10.00"), nil)
	other := f.signed(3, f.bill("k7", "11.00"), nil)
	changed := f.bill("k9", "200.00")
	changed = f.signed(4, changed, ptr(f.bill("k9", "2.00")))
	for _, r := range append(three, replayed, again, twice, twice, first, other, f.signed(5, f.bill("k10", "5.00"), nil),
		f.signed(6, f.bill("k11", "5.00"), nil), retry.r, changed, f.signed(4, f.bill("k12", "1000.00"), nil), f.signed(4, f.bill("k13", "400.00"), nil)) {
		batch = append(batch, f.job(r))
	}
	return before, batch
}

func ptr[T any](v T) *T { return &v }

var scenarioBalances = []money.Fen{100_00, 3000_00, 3000_00, 3000_00, 3000_00, 3000_00, 3000_00}

// TestSettledTogetherAsAlone: the batch's card settlements decided together give every answer,
// figure, balance, counter and audit entry that the same requests carried out one at a time give,
// on both engines; and when writing them together fails half-way, the batch is undone and carried
// out one at a time with the same outcome.
func TestSettledTogetherAsAlone(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		var runs [3][]string
		var states [3]string
		for mode := range 3 {
			t.Run([]string{"together", "alone", "fallback"}[mode], func(t *testing.T) {
				dd := d
				if mode > 0 {
					dd = fresh(t, d)
				}
				f := newBatchFixture(t, dd, scenarioBalances, 5, 6)
				switch mode {
				case 1:
					f.svc.engine.bulk = nil
				case 2:
					f.svc.failTogether = func() error { return errors.New("the disk is full") }
				}
				before, batch := scenario(f)
				f.svc.engine.runBatch([]*job{before})
				if o := <-before.done; o.err != nil {
					t.Fatalf("the settlement before the batch: %v", o.err)
				}
				if mode == 1 {
					for _, j := range batch {
						f.svc.engine.runBatch([]*job{j})
					}
				} else {
					f.svc.engine.runBatch(batch)
				}
				for _, j := range batch {
					runs[mode] = append(runs[mode], answer(<-j.done))
				}
				states[mode] = f.state()
				if st := f.svc.Stats(); (st.Fallbacks > 0) != (mode == 2) {
					t.Errorf("fallbacks %d", st.Fallbacks)
				}
				if _, err := ledger.Check(context.Background(), dd); err != nil {
					t.Error(err)
				}
				if _, err := Check(context.Background(), dd); err != nil {
					t.Error(err)
				}
				if _, err := audit.Verify(context.Background(), dd, nil); err != nil {
					t.Error(err)
				}
			})
		}
		want := []string{
			"0000000002 replay=false total 60.00 deductible 60.00 pool 0.00 account 60.00 cash 0.00",
			"0000000003 replay=false total 60.00 deductible 60.00 pool 0.00 account 40.00 cash 20.00",
			"0000000004 replay=false total 75.50 deductible 75.50 pool 0.00 account 0.00 cash 75.50",
			"0000000005 replay=false",
			"conflict: this card proof was used already",
			"0000000006 replay=false",
			"0000000006 replay=true",
			"0000000007 replay=false",
			"conflict: the idempotency key \"k7\" was used for a different settlement",
			"invalid: the social security card is reported lost and cannot be used",
			"invalid: the person has no medical insurance in",
			"0000000001 replay=true total 80.00",
			"invalid: the card's proof does not match this settlement",
			"0000000008 replay=false total 1000.00 deductible 1000.00 pool 0.00",
			"0000000009 replay=false total 400.00 deductible 120.00 pool 140.00 account 260.00",
		}
		for i, w := range want {
			if !strings.Contains(runs[0][i], w) {
				t.Errorf("request %d together: %s; want %s", i, runs[0][i], w)
			}
		}
		for mode := 1; mode < 3; mode++ {
			for i := range runs[0] {
				if runs[mode][i] != runs[0][i] {
					t.Errorf("request %d: together %s; %s %s", i, runs[0][i], []string{"", "alone", "fallback"}[mode], runs[mode][i])
				}
			}
			if states[mode] != states[0] {
				a, b := strings.Split(states[0], "\n"), strings.Split(states[mode], "\n")
				for i := range min(len(a), len(b)) {
					if a[i] != b[i] {
						t.Errorf("the database, line %d: together %q; %s %q", i, a[i], []string{"", "alone", "fallback"}[mode], b[i])
						break
					}
				}
				if len(a) != len(b) {
					t.Errorf("the database: %d lines together, %d %s", len(a), len(b), []string{"", "alone", "fallback"}[mode])
				}
			}
		}
	})
}

// fresh is a second database of d's engine.
func fresh(t *testing.T, d *db.DB) *db.DB {
	if d.Dialect() == db.Postgres {
		return dbtest.Postgres(t, dbtest.Options{})
	}
	return dbtest.SQLite(t, dbtest.Options{})
}

// state is what the settlements left: balances, year counters, card counters, settlements and
// their entries, and the audit entries of settlements.
func (f *batchFixture) state() string {
	ctx := context.Background()
	var b strings.Builder
	r := f.d.R()
	for _, q := range []string{
		"SELECT code, balance FROM ledger_accounts ORDER BY code",
		"SELECT person_id, year, outpatient_deductible_used, outpatient_pool_paid, inpatient_pool_paid FROM medical_years ORDER BY person_id, year",
		"SELECT SUBSTR(card_id, 25), last_atc FROM card_transaction_counters ORDER BY card_id",
		"SELECT seq, idem_key, person_id, total, pool, account, cash, account_balance, entry_id IS NULL FROM settlements ORDER BY seq",
		// Entries by their settlement: PostgreSQL does not give back the ids of rows rolled back.
		"SELECT s.seq, p.account, p.amount FROM settlements s JOIN ledger_postings p ON p.entry_id = s.entry_id ORDER BY s.seq, p.account",
		"SELECT action, object, detail FROM audit_log WHERE action LIKE 'settlement.%' ORDER BY seq",
	} {
		rows, err := r.QueryContext(ctx, q)
		if err != nil {
			f.t.Fatal(err)
		}
		cols, _ := rows.Columns()
		for rows.Next() {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				f.t.Fatal(err)
			}
			fmt.Fprintln(&b, vals...)
		}
		rows.Close()
	}
	return b.String()
}

// BenchmarkWriterCardSettlements is the writer's share of a card settlement, without HTTP: batches
// of 32 card settlements, of 2,000 cardholders spread over 100,000 insured persons, carried out
// together and committed (SQLite synchronous=FULL, or PostgreSQL), per settlement. The requests
// and their proofs are made before the timer starts.
func BenchmarkWriterCardSettlements(b *testing.B) {
	for _, engine := range []string{"sqlite", "postgres"} {
		b.Run(engine, func(b *testing.B) {
			var d *db.DB
			if engine == "postgres" {
				d = dbtest.Postgres(b, dbtest.Options{})
			} else {
				d = dbtest.SQLite(b, dbtest.Options{})
			}
			const persons, per, cards = 100_000, 32, 2000
			bal := make([]money.Fen, persons)
			for i := range bal {
				bal[i] = 1_000_000_00
			}
			f := newBatchFixture(b, d, nil, -1, -1)
			f.addPersons(bal, -1, -1, func(i int) bool { return i%(persons/cards) == 0 })
			jobs := make([]*job, b.N)
			for i := range jobs {
				jobs[i] = f.job(f.signed(i%cards, f.bill(fmt.Sprintf("b%d", i), "12.30", "45.60", "7.80"), nil))
			}
			b.ResetTimer()
			for start := 0; start < len(jobs); start += per {
				batch := jobs[start:min(start+per, len(jobs))]
				f.svc.engine.runBatch(batch)
				for _, j := range batch {
					if o := <-j.done; o.err != nil {
						b.Fatal(o.err)
					}
				}
			}

		})
	}
}

// TestMedicalCardDayUsesItsIndex: the medical card's daily total is read through the partial index
// that holds the medical card's settlements only (migration 0015), whose condition the query
// spells as card.ByMedicalCard.
func TestMedicalCardDayUsesItsIndex(t *testing.T) {
	if card.ByMedicalCard != "medical_card" {
		t.Fatalf("the query and the index spell the medical card's means as 'medical_card', not %q", card.ByMedicalCard)
	}
	d := dbtest.SQLite(t, dbtest.Options{})
	rows, err := d.R().QueryContext(context.Background(), `EXPLAIN QUERY PLAN SELECT COALESCE(SUM(total), 0) FROM settlements WHERE region = $1
		AND card_ref = $2 AND settled_on = $3 AND means = 'medical_card' AND refunded_at = ''`, batchRegion, "6214830000000001", "2026-01-02")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var a, b, c any
		var detail string
		if err := rows.Scan(&a, &b, &c, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if !strings.Contains(strings.Join(plan, " "), "settlements_medical_card_day") {
		t.Fatalf("plan %q", plan)
	}
}
