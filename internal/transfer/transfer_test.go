package transfer_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/benefit"
	"github.com/shebao/shebao/internal/contrib"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/db/dbtest"
	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/ident"
	"github.com/shebao/shebao/internal/ledger"
	"github.com/shebao/shebao/internal/money"
	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/policy"
	"github.com/shebao/shebao/internal/registry"
	"github.com/shebao/shebao/internal/transfer"
)

var ctx = context.Background()

const regionA, regionB = "330100", "330200"

// world is two regions served by one database: an employer in each, a person insured in A.
type world struct {
	d                  *db.DB
	clock              *dbtest.Clock
	reg                *registry.Service
	contrib            *contrib.Service
	benefit            *benefit.Service
	svc                *transfer.Service
	hrA, hrB           *auth.Principal
	clerkA, clerkB     *auth.Principal
	reviewerA          *auth.Principal
	reviewerB          *auth.Principal
	usccA, usccB       string
	person             int64
	idNumber           string
	months             []period.Month
	paidBases          map[period.Month]int64 // the reference: read from A's paid lines
	pensionA, medicalA money.Fen              // A's personal accounts before the transfer
}

func staff(name string, role auth.Role, region string) *auth.Principal {
	return &auth.Principal{User: auth.User{Username: name, Role: role, Regions: []string{region}}}
}

// newWorld insures a person with an employer of A from July to October 2026, bills and pays the
// four months, and ends the employment in October. idNumber picks the person (age, sex, birthplace).
func newWorld(t *testing.T, d *db.DB, clock *dbtest.Clock, idNumber string, unpaid ...period.Month) *world {
	t.Helper()
	clock.Set(time.Date(2026, 7, 10, 23, 30, 0, 0, time.UTC)) // 11 July in Beijing
	w := &world{d: d, clock: clock, idNumber: idNumber, paidBases: map[period.Month]int64{}}
	pol := policy.NewStore(d)
	for _, r := range []string{regionA, regionB} {
		p, _, _ := policy.Default(r, 202001)
		if _, err := pol.Install(ctx, audit.System, p); err != nil {
			t.Fatal(err)
		}
	}
	a := auth.New(d, auth.Options{})
	w.reg = registry.New(d, a, pol)
	w.contrib = contrib.New(d, pol)
	w.benefit = benefit.New(d, pol, w.reg)
	w.svc = transfer.New(d)
	w.clerkA, w.clerkB = staff("clerk-a", auth.Clerk, regionA), staff("clerk-b", auth.Clerk, regionB)
	w.reviewerA, w.reviewerB = staff("reviewer-a", auth.Reviewer, regionA), staff("reviewer-b", auth.Reviewer, regionB)
	for i, r := range []string{regionA, regionB} {
		u, _ := ident.MakeUSCC(fmt.Sprintf("91%s%09d", r, i+1))
		e, err := w.reg.RegisterEmployer(ctx, staff("clerk", auth.Clerk, r), registry.NewEmployer{USCC: string(u), Name: "单位" + r, LegalRep: "x", RiskClass: 2})
		if err != nil {
			t.Fatal(err)
		}
		hr := &auth.Principal{User: auth.User{Username: "hr-" + r, Role: auth.Employer, Regions: []string{r}, EmployerID: e.ID}}
		if r == regionA {
			w.hrA, w.usccA = hr, string(u)
		} else {
			w.hrB, w.usccB = hr, string(u)
		}
	}
	if err := w.reg.ChangeStaff(ctx, w.hrA, w.usccA, registry.StaffChange{Op: registry.OpAdd, IDNumber: idNumber, Name: "转移人", Base: "9000.00", Month: "202607"}); err != nil {
		t.Fatal(err)
	}
	d.R().QueryRowContext(ctx, "SELECT id FROM persons WHERE id_number = $1", idNumber).Scan(&w.person)
	// A raise from September, declared in time.
	clock.Set(time.Date(2026, 9, 2, 1, 0, 0, 0, time.UTC))
	if err := w.reg.ChangeStaff(ctx, w.hrA, w.usccA, registry.StaffChange{Op: registry.OpChangeBase, IDNumber: idNumber, Base: "12345.67", Month: "202609"}); err != nil {
		t.Fatal(err)
	}
	w.months = []period.Month{202607, 202608, 202609, 202610}
	for _, m := range w.months {
		clock.Set(time.Date(m.Year(), time.Month(m.MonthOfYear()), 20, 23, 30, 0, 0, time.UTC))
		if _, err := w.contrib.Run(ctx, audit.System, regionA, m, nil); err != nil {
			t.Fatal(err)
		}
		if !slices.Contains(unpaid, m) {
			w.payAll(t, regionA, fmt.Sprintf("pay-%s", m))
		}
	}
	if err := w.reg.ChangeStaff(ctx, w.hrA, w.usccA, registry.StaffChange{Op: registry.OpRemove, IDNumber: idNumber, EndDate: "2026-10-20", Reason: "resigned"}); err != nil {
		t.Fatal(err)
	}
	// The reference: the bases of A's months, as the lines of its paid bills hold them.
	if err := db.EachRow(ctx, d.R(), func(scan func(...any) error) error {
		var m int
		var base int64
		err := scan(&m, &base)
		w.paidBases[period.Month(m)] = base
		return err
	}, `SELECT l.month, SUM(l.base) FROM contribution_lines l JOIN bills b ON b.id = l.bill_id
		WHERE l.person_id = $1 AND b.paid >= b.total GROUP BY l.month`, w.person); err != nil {
		t.Fatal(err)
	}
	w.pensionA = w.balance(t, ledger.PersonAccount(regionA, ledger.PersonPension, w.person))
	w.medicalA = w.balance(t, ledger.PersonAccount(regionA, ledger.PersonMedical, w.person))
	if len(w.paidBases) != len(w.months)-len(unpaid) || w.pensionA == 0 || w.medicalA == 0 {
		t.Fatalf("the person's history in A: bases %v, pension %s, medical %s", w.paidBases, w.pensionA, w.medicalA)
	}
	clock.Set(time.Date(2026, 11, 3, 23, 30, 0, 0, time.UTC)) // 4 November in Beijing
	return w
}

// payAll pays every open bill of A's employer.
func (w *world) payAll(t *testing.T, region, key string) {
	t.Helper()
	var id int64
	w.d.R().QueryRowContext(ctx, "SELECT id FROM employers WHERE region = $1", region).Scan(&id)
	payer := contrib.EmployerPayer(id)
	bills, err := w.contrib.Bills(ctx, staff("bank", auth.Clerk, region), payer)
	if err != nil {
		t.Fatal(err)
	}
	var owing money.Fen
	for _, b := range bills {
		owing += b.Owing()
	}
	if owing == 0 {
		return
	}
	if _, err := w.contrib.RecordPayment(ctx, staff("bank", auth.Clerk, region), contrib.NewPayment{IdemKey: key, Payer: payer, Amount: owing.String(),
		PaidOn: period.Today(w.clock.Now()).Format("2006-01-02")}); err != nil {
		t.Fatal(err)
	}
}

func (w *world) balance(t *testing.T, account string) money.Fen {
	t.Helper()
	b, err := ledger.Balance(ctx, w.d.R(), account)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// reference is the pooled part as 66号 computes it: 12 % of each month's base since 1998, rounded
// half up to the fen month by month, in integer arithmetic of its own.
func (w *world) reference() (pooled int64) {
	for m, b := range w.paidBases {
		if m >= 199801 {
			pooled += (b*12 + 50) / 100
		}
	}
	return pooled
}

// TestTransferEndToEnd: a person insured in A starts work in B; enrolment in B without a transfer
// is refused naming the transfer; B's clerk takes the application, A computes and A's reviewer
// approves, the money moves through the clearing accounts; the amounts equal the reference, the
// months count in B, A's insurance is closed, both regions' ledgers check, and every fen that left
// A arrived in B.
func TestTransferEndToEnd(t *testing.T) {
	clock := dbtest.NewClock(time.Date(2026, 7, 10, 23, 30, 0, 0, time.UTC))
	dbtest.EachWith(t, dbtest.Options{Now: clock.Now}, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d, clock, mkID("33010619880505123"))
		fundA, fundB := w.balance(t, ledger.FundAccount(regionA, "pension")), w.balance(t, ledger.FundAccount(regionB, "pension"))
		bankA, bankB := w.balance(t, ledger.ClearingAccount(regionA)), w.balance(t, ledger.ClearingAccount(regionB))

		// B's employer may not insure a person insured in A: the refusal names the transfer.
		err := w.reg.ChangeStaff(ctx, w.hrB, w.usccB, registry.StaffChange{Op: registry.OpAdd, IDNumber: w.idNumber, Name: "转移人", Base: "10000", Month: "202611"})
		var e *errs.Error
		if !errors.As(err, &e) || !strings.Contains(errText(e), "transfer") || !strings.Contains(errText(e), "转移接续") {
			t.Fatalf("enrolment in B without a transfer: %v; want a refusal that names the transfer", err)
		}

		// B's employer applies for its new hire; B's clerk accepts.
		tr, err := w.svc.Apply(ctx, w.hrB, transfer.NewTransfer{IDNumber: w.idNumber})
		if err != nil || tr.Status() != transfer.Applied || tr.FromRegion != regionA || tr.ToRegion != regionB {
			t.Fatalf("apply: %+v, %v", tr, err)
		}
		if _, err := w.svc.Apply(ctx, w.clerkB, transfer.NewTransfer{IDNumber: w.idNumber}); !errors.As(err, &e) || e.Code != errs.Conflict {
			t.Fatalf("a second application: %v; want a conflict", err)
		}
		if _, err := w.svc.Accept(ctx, w.clerkA, tr.No); !errors.As(err, &e) || e.Code != errs.NotFound {
			t.Fatalf("A's clerk accepting B's application: %v; want not found", err)
		}
		if tr, err = w.svc.Accept(ctx, w.clerkB, tr.No); err != nil || tr.Status() != transfer.Accepted {
			t.Fatalf("accept: %+v, %v", tr, err)
		}
		// Nothing moves before the request is delivered and A's reviewer approves.
		if n, err := w.svc.Deliver(ctx); err != nil || n != 1 {
			t.Fatalf("deliver the request: %d, %v", n, err)
		}
		tr, err = w.svc.Get(ctx, w.reviewerA, tr.No)
		if err != nil || tr.Status() != transfer.Computed {
			t.Fatalf("after the request: %+v, %v", tr, err)
		}
		pooled := w.reference()
		if tr.Amounts.PensionPooled != money.Fen(pooled) || tr.Amounts.PensionAccount != w.pensionA || tr.Amounts.MedicalAccount != w.medicalA ||
			tr.Months.Pension != 4 || tr.Amounts.Temporary {
			t.Fatalf("computed %+v %+v; want pooled %d, account %s, medical %s, 4 months", tr.Amounts, tr.Months, pooled, w.pensionA, w.medicalA)
		}
		if _, err := w.svc.Approve(ctx, w.reviewerB, tr.No); !errors.As(err, &e) || e.Code != errs.NotFound {
			t.Fatalf("B's reviewer approving A's side: %v; want not found", err)
		}
		if tr, err = w.svc.Approve(ctx, w.reviewerA, tr.No); err != nil || tr.Status() != transfer.Sent {
			t.Fatalf("approve: %+v, %v", tr, err)
		}
		if n, err := w.svc.Deliver(ctx); err != nil || n != 3 {
			t.Fatalf("deliver funds, receipt and remittance: %d, %v", n, err)
		}
		if n, err := w.svc.Deliver(ctx); err != nil || n != 0 {
			t.Fatalf("deliver again: %d, %v; want nothing left", n, err)
		}
		tr, err = w.svc.Get(ctx, w.hrB, tr.No)
		if err != nil || tr.Status() != transfer.Done || tr.OutStatus != transfer.Done {
			t.Fatalf("after delivery: %+v, %v", tr, err)
		}
		var steps []string
		for _, s := range tr.Steps {
			steps = append(steps, s.Key)
		}
		if strings.Join(steps, ",") != "applied,accepted,computed,approved,credited,remitted,done" {
			t.Fatalf("steps %v", steps)
		}

		// The money: B's accounts hold what A's held, B's pool gained the pooled part A's lost.
		total := w.pensionA + w.medicalA + money.Fen(pooled)
		for _, c := range []struct {
			account string
			want    money.Fen
		}{
			{ledger.PersonAccount(regionA, ledger.PersonPension, w.person), 0},
			{ledger.PersonAccount(regionA, ledger.PersonMedical, w.person), 0},
			{ledger.PersonAccount(regionB, ledger.PersonPension, w.person), w.pensionA},
			{ledger.PersonAccount(regionB, ledger.PersonMedical, w.person), w.medicalA},
			{ledger.FundAccount(regionA, "pension"), fundA - money.Fen(pooled)},
			{ledger.FundAccount(regionB, "pension"), fundB + money.Fen(pooled)},
			{ledger.TransferAccount(regionA, regionB), 0},
			{ledger.TransferAccount(regionB, regionA), 0},
			{ledger.ClearingAccount(regionA), bankA - total},
			{ledger.ClearingAccount(regionB), bankB + total},
		} {
			if got := w.balance(t, c.account); got != c.want {
				t.Errorf("%s: %s; want %s", c.account, got, c.want)
			}
		}

		// The months count in B; A's insurance is closed and the person is B's now.
		months, err := w.svc.MonthsOf(ctx, w.clerkB, tr.No)
		if err != nil || len(months["pension"]) != 4 || len(months["unemployment"]) != 4 || len(months["medical"]) != 4 {
			t.Fatalf("months recorded in B: %v, %v", months, err)
		}
		outlook, err := w.benefit.PensionOf(ctx, w.clerkB, w.idNumber)
		if err != nil || outlook.ContributionMonths != 4 {
			t.Fatalf("pension outlook in B: %+v, %v; want the 4 months transferred", outlook, err)
		}
		var open int
		d.R().QueryRowContext(ctx, "SELECT COUNT(*) FROM participations WHERE person_id = $1 AND region = $2 AND end_month = 0", w.person, regionA).Scan(&open)
		if open != 0 {
			t.Fatalf("%d participations still open in A", open)
		}
		var region string
		d.R().QueryRowContext(ctx, "SELECT region FROM persons WHERE id = $1", w.person).Scan(&region)
		if region != regionB {
			t.Fatalf("the person's region is %s", region)
		}
		if err := w.reg.ChangeStaff(ctx, w.hrB, w.usccB, registry.StaffChange{Op: registry.OpAdd, IDNumber: w.idNumber, Name: "转移人", Base: "10000", Month: "202611"}); err != nil {
			t.Fatalf("enrolment in B after the transfer: %v", err)
		}
		if _, err := ledger.Check(ctx, d); err != nil {
			t.Fatal(err)
		}
		if _, err := contrib.Check(ctx, d); err != nil {
			t.Fatal(err)
		}
		if _, err := audit.Verify(ctx, d, nil); err != nil {
			t.Fatal(err)
		}
	})
}

// TestTransferTemporaryAccount: a man of 50 whose household registration is in Beijing moving
// between two Zhejiang regions keeps his pension relation in A (66号): only medical insurance moves.
// TestTransferWaitsForArrears: a month billed in A and not paid would be paid, later, into an
// account that has moved, and would not move itself; A's reviewer cannot approve until it is paid
// (先补缴后转移), and then everything moves.
func TestTransferWaitsForArrears(t *testing.T) {
	clock := dbtest.NewClock(time.Date(2026, 7, 10, 23, 30, 0, 0, time.UTC))
	dbtest.EachWith(t, dbtest.Options{Now: clock.Now}, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d, clock, mkID("33010619880505124"), 202609, 202610)
		tr, err := w.svc.Apply(ctx, w.hrB, transfer.NewTransfer{IDNumber: w.idNumber})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.svc.Accept(ctx, w.clerkB, tr.No); err != nil {
			t.Fatal(err)
		}
		if _, err := w.svc.Deliver(ctx); err != nil {
			t.Fatal(err)
		}
		var e *errs.Error
		_, err = w.svc.Approve(ctx, w.reviewerA, tr.No)
		if !errors.As(err, &e) || e.Code != errs.Conflict || !strings.Contains(errText(e), "202609") || !strings.Contains(errText(e), "202610") {
			t.Fatalf("approve with 202609 and 202610 unpaid: %v; want a conflict naming the months", err)
		}
		if got, _ := w.svc.Get(ctx, w.reviewerA, tr.No); got.OutStatus != transfer.Computed {
			t.Fatalf("after the refusal: %s; want still computed, nothing moved", got.OutStatus)
		}
		w.payAll(t, regionA, "pay-arrears")
		if tr, err = w.svc.Approve(ctx, w.reviewerA, tr.No); err != nil || tr.Status() != transfer.Sent || tr.Months.Pension != 4 {
			t.Fatalf("approve once paid: %+v, %v; want sent with 4 months", tr, err)
		}
	})
}

func TestTransferTemporaryAccount(t *testing.T) {
	clock := dbtest.NewClock(time.Date(2026, 7, 10, 23, 30, 0, 0, time.UTC))
	dbtest.EachWith(t, dbtest.Options{Now: clock.Now}, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d, clock, mkID("11010519700303101"))
		tr, err := w.svc.Apply(ctx, w.clerkB, transfer.NewTransfer{IDNumber: w.idNumber})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.svc.Accept(ctx, staff("clerk-b2", auth.Clerk, regionB), tr.No); err != nil {
			t.Fatal(err)
		}
		w.svc.Deliver(ctx)
		if tr, err = w.svc.Approve(ctx, w.reviewerA, tr.No); err != nil || !tr.Amounts.Temporary || tr.Amounts.PensionAccount != 0 ||
			tr.Amounts.PensionPooled != 0 || tr.Amounts.MedicalAccount != w.medicalA || tr.Months.Pension != 0 {
			t.Fatalf("approve: %+v, %v; want the temporary account rule", tr, err)
		}
		if _, err := w.svc.Deliver(ctx); err != nil {
			t.Fatal(err)
		}
		if got := w.balance(t, ledger.PersonAccount(regionA, ledger.PersonPension, w.person)); got != w.pensionA {
			t.Fatalf("A's pension account: %s; want %s kept", got, w.pensionA)
		}
		if got := w.balance(t, ledger.PersonAccount(regionB, ledger.PersonMedical, w.person)); got != w.medicalA {
			t.Fatalf("B's medical account: %s; want %s", got, w.medicalA)
		}
		if _, err := ledger.Check(ctx, d); err != nil {
			t.Fatal(err)
		}
	})
}

// TestTransferRefused: A's reviewer refuses, B hears it, nothing moves.
func TestTransferRefused(t *testing.T) {
	clock := dbtest.NewClock(time.Date(2026, 7, 10, 23, 30, 0, 0, time.UTC))
	dbtest.EachWith(t, dbtest.Options{Now: clock.Now}, func(t *testing.T, d *db.DB) {
		w := newWorld(t, d, clock, mkID("33010619900101123"))
		resident := &auth.Principal{User: auth.User{Username: "resident", Role: auth.Resident, Regions: []string{regionA}, PersonID: w.person}}
		tr, err := w.svc.Apply(ctx, resident, transfer.NewTransfer{IDNumber: w.idNumber, ToRegion: regionB})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.svc.Accept(ctx, w.clerkB, tr.No); err != nil {
			t.Fatal(err)
		}
		w.svc.Deliver(ctx)
		if _, err := w.svc.Refuse(ctx, w.reviewerA, tr.No, "材料不全"); err != nil {
			t.Fatal(err)
		}
		w.svc.Deliver(ctx)
		tr, err = w.svc.Get(ctx, resident, tr.No)
		if err != nil || tr.Status() != transfer.Refused || tr.Refusal != "材料不全" {
			t.Fatalf("after refusal: %+v, %v", tr, err)
		}
		if got := w.balance(t, ledger.PersonAccount(regionA, ledger.PersonPension, w.person)); got != w.pensionA {
			t.Fatalf("A's pension account: %s", got)
		}
		// Refused, the person may apply again.
		if _, err := w.svc.Apply(ctx, resident, transfer.NewTransfer{IDNumber: w.idNumber, ToRegion: regionB}); err != nil {
			t.Fatalf("a new application after the refusal: %v", err)
		}
	})
}

func errText(e *errs.Error) string {
	s := e.Message
	for _, v := range e.Fields {
		s += " " + v
	}
	return s
}

func mkID(first17 string) string {
	n, err := ident.MakeIDNumber(first17)
	if err != nil {
		panic(err)
	}
	return string(n)
}
