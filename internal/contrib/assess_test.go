package contrib

import (
	"testing"
	"time"

	"github.com/shebao/shebao/internal/money"
	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/policy"
)

func defaults(t *testing.T) *policy.Contributions {
	t.Helper()
	p, _, err := policy.Default("330100", 202001)
	if err != nil {
		t.Fatal(err)
	}
	return &p.Contributions
}

var employee = []policy.Insurance{policy.Pension, policy.Medical, policy.Unemployment, policy.WorkInjury, policy.Maternity}

func lineOf(a Assessment, ins policy.Insurance, p Party) Line {
	for _, l := range a.Lines {
		if l.Insurance == ins && l.Party == p {
			return l
		}
	}
	return Line{}
}

// Worked examples with the demo region's defaults: average wage 9000.00, floor 60 % (5400.00),
// ceiling 300 % (27000.00).
func TestAssessWorkedExamples(t *testing.T) {
	c := defaults(t)
	if c.Floor() != 540000 || c.Ceiling() != 2700000 {
		t.Fatalf("floor %s, ceiling %s", c.Floor(), c.Ceiling())
	}
	type want struct {
		ins    policy.Insurance
		party  Party
		amount money.Fen
		acct   money.Fen
	}
	cases := []struct {
		name  string
		subj  Subject
		base  money.Fen
		lines []want
		total money.Fen
	}{
		{"base below the floor is raised to it", Subject{Declared: 300000, RiskClass: 1, Insurances: employee}, 540000, []want{
			{policy.Pension, Employer, 86400, 0}, {policy.Pension, Employee, 43200, 43200},
			{policy.Medical, Employer, 43200, 0}, {policy.Medical, Employee, 10800, 10800},
			{policy.Unemployment, Employer, 2700, 0}, {policy.Unemployment, Employee, 2700, 0},
			{policy.WorkInjury, Employer, 1080, 0}}, 190080},
		{"base within the limits", Subject{Declared: 800000, RiskClass: 3, Insurances: employee}, 800000, []want{
			{policy.Pension, Employer, 128000, 0}, {policy.Pension, Employee, 64000, 64000},
			{policy.Medical, Employer, 64000, 0}, {policy.Medical, Employee, 16000, 16000},
			{policy.Unemployment, Employer, 4000, 0}, {policy.Unemployment, Employee, 4000, 0},
			{policy.WorkInjury, Employer, 5600, 0}}, 285600},
		{"base above the ceiling is lowered to it", Subject{Declared: 5000000, RiskClass: 8, Insurances: employee}, 2700000, []want{
			{policy.Pension, Employer, 432000, 0}, {policy.Pension, Employee, 216000, 216000},
			{policy.WorkInjury, Employer, 51300, 0}}, 996300},
		{"a half fen rounds up", Subject{Declared: 543300, RiskClass: 1, Insurances: employee}, 543300, []want{
			{policy.Unemployment, Employee, 2717, 0}, // 5433.00 × 0.5 % = 27.165 → 27.17
			{policy.WorkInjury, Employer, 1087, 0},   // × 0.2 % = 10.866 → 10.87
		}, 0},
		{"work-injury class 5", Subject{Declared: 1000000, RiskClass: 5, Insurances: employee}, 1000000, []want{
			{policy.WorkInjury, Employer, 11000, 0}}, 0},
		{"flexible worker: 20 % pension, 8 % to the account", Subject{Declared: 600000, Flexible: true, Insurances: []policy.Insurance{policy.Pension, policy.Medical}}, 600000, []want{
			{policy.Pension, Self, 120000, 48000}, {policy.Medical, Self, 54000, 12000}}, 174000},
		{"only the insurance types the person has", Subject{Declared: 800000, RiskClass: 2, Insurances: []policy.Insurance{policy.Medical}}, 800000, []want{
			{policy.Medical, Employer, 64000, 0}, {policy.Medical, Employee, 16000, 16000}}, 80000},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a := Assess(Compile(c), tc.subj)
			if a.Base != tc.base {
				t.Fatalf("base %s; want %s", a.Base, tc.base)
			}
			for _, w := range tc.lines {
				l := lineOf(a, w.ins, w.party)
				if l.Amount != w.amount || l.ToAccount != w.acct {
					t.Errorf("%s %s: %s (account %s); want %s (account %s)", w.ins, w.party, l.Amount, l.ToAccount, w.amount, w.acct)
				}
			}
			if tc.total != 0 && a.Total() != tc.total {
				t.Errorf("total %s; want %s", a.Total(), tc.total)
			}
			var sum money.Fen
			for _, l := range a.Lines {
				sum += l.Amount
				if l.Insurance == policy.Maternity {
					t.Errorf("maternity has a line of its own")
				}
			}
			if sum != a.ByParty(Employer)+a.ByParty(Employee)+a.ByParty(Self) {
				t.Error("parties do not add up to the total")
			}
		})
	}
}

// The late fee over a month boundary and a leap day: January's contributions fall due on
// 15 February; paid on 16 March they are 30 days late in 2028 (29 February) and 29 in 2027.
func TestLateFee(t *testing.T) {
	c := defaults(t)
	daily := policy.Rate(c.LateFeeDaily)
	for _, tc := range []struct {
		month period.Month
		paid  time.Time
		days  int
		fee   money.Fen
	}{
		{202801, time.Date(2028, 3, 16, 0, 0, 0, 0, time.UTC), 30, 1920}, // 1280.00 × 0.05 % × 30 = 19.20
		{202701, time.Date(2027, 3, 16, 0, 0, 0, 0, time.UTC), 29, 1856}, // × 29 = 18.56
		{202712, time.Date(2028, 1, 15, 0, 0, 0, 0, time.UTC), 0, 0},     // on the due date: not late
		{202711, time.Date(2028, 1, 2, 0, 0, 0, 0, time.UTC), 18, 1152},  // over the year's end
	} {
		due := DueDate(tc.month, c.DueDay)
		days := DaysLate(due, tc.paid)
		if days != tc.days {
			t.Errorf("%s paid %s: %d days late; want %d", tc.month, tc.paid.Format("2006-01-02"), days, tc.days)
		}
		if fee := LateFee(128000, daily, days); fee != tc.fee {
			t.Errorf("%s: fee %s; want %s", tc.month, fee, tc.fee)
		}
	}
}

// A partial payment over three overdue months goes to the oldest first, contributions before fees.
func TestAllocateOldestFirst(t *testing.T) {
	open := []Owed{{202603, 0, 100000, 900}, {202601, 0, 100000, 3100}, {202602, 0, 100000, 2000}}
	allocs, excess := Allocate(205000, open)
	want := []Allocation{{202601, 0, 100000, 3100}, {202602, 0, 100000, 1900}}
	if len(allocs) != len(want) || excess != 0 {
		t.Fatalf("allocations %+v, excess %s", allocs, excess)
	}
	for i := range want {
		if allocs[i] != want[i] {
			t.Errorf("allocation %d = %+v; want %+v", i, allocs[i], want[i])
		}
	}
	if _, excess := Allocate(400000, open); excess != 400000-306000 {
		t.Fatalf("overpayment excess %s", excess)
	}
}
