package contrib

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/ledger"
	"github.com/shebao/shebao/internal/money"
	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/policy"
)

// CheckReport is what Check compared.
type CheckReport struct {
	Bills    int64
	Lines    int64
	Payments int64
}

// Check compares the business records of contributions with the ledger, from one snapshot, and
// returns a *ledger.Violation naming every bill, payment or entry that disagrees:
//
//   - every bill's total and person count are those of its lines;
//   - every bill is booked by one monthly-run entry, which posts the bill's total to its payer's
//     receivable, and each run entry credits each pooled fund exactly its bills' lines' part;
//   - every payment's amount is what its allocations took (and nothing more is ever taken), each
//     allocation is to a bill of the same payer, each bill's paid and fee_paid are its allocations'
//     sums, and the payment's entry posts exactly the amount, the contributions and the fees;
//   - a bill paid in full, and only such a bill, has its personal accounts credited, by an entry
//     that credits each person exactly the shares of their line;
//   - no payment or personal-account entry exists without its record.
//
// The ledger's own invariants (balance, content hashes, balances equal to postings) are
// ledger.Check's: a change made consistently to an entry, its balances and its content hash is
// found here, because the bill or payment it came from no longer matches it.
func Check(ctx context.Context, d *db.DB) (CheckReport, error) {
	var rep CheckReport
	var f ledger.Findings
	err := d.Read(ctx, func(tx *db.Tx) error {
		f, rep = ledger.Findings{}, CheckReport{}
		for _, c := range []func(context.Context, *db.Tx, *ledger.Findings, *CheckReport) error{
			checkRecords, checkBillsBooked, checkPayments, checkAccounts,
		} {
			if err := c(ctx, tx, &f, &rep); err != nil {
				return fmt.Errorf("contrib: check: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return rep, err
	}
	return rep, f.Err()
}

// checkRecords compares the business records with each other: bills with their allocations,
// payments with theirs, and what has been credited with what has been paid.
func checkRecords(ctx context.Context, tx *db.Tx, f *ledger.Findings, rep *CheckReport) error {
	const limit = 100
	checks := []struct {
		q    string
		what func(scan func(...any) error) (string, error)
	}{
		{`SELECT b.id, b.payer, b.month, b.paid, b.fee_paid, COALESCE(a.principal, 0), COALESCE(a.fee, 0) FROM bills b
			LEFT JOIN (SELECT bill_id, SUM(principal) AS principal, SUM(fee) AS fee FROM payment_allocations GROUP BY bill_id) a ON a.bill_id = b.id
			WHERE b.paid <> COALESCE(a.principal, 0) OR b.fee_paid <> COALESCE(a.fee, 0) ORDER BY b.id LIMIT $1`,
			func(scan func(...any) error) (string, error) {
				var id int64
				var payer string
				var month int
				var paid, feePaid, principal, fee money.Fen
				err := scan(&id, &payer, &month, &paid, &feePaid, &principal, &fee)
				return fmt.Sprintf("%s: paid %s and fees paid %s, but its payments' allocations give %s and %s",
					billName(id, payer, month), paid, feePaid, principal, fee), err
			}},
		{`SELECT b.id, b.payer, b.month, b.total, b.paid FROM bills b WHERE b.paid > b.total ORDER BY b.id LIMIT $1`,
			func(scan func(...any) error) (string, error) {
				var id int64
				var payer string
				var month int
				var total, paid money.Fen
				err := scan(&id, &payer, &month, &total, &paid)
				return fmt.Sprintf("%s: paid %s of a total of %s", billName(id, payer, month), paid, total), err
			}},
		{`SELECT p.id, p.payer, p.amount, p.excess, COALESCE(a.taken, 0) FROM payments p
			LEFT JOIN (SELECT payment_id, SUM(principal + fee) AS taken FROM payment_allocations GROUP BY payment_id) a ON a.payment_id = p.id
			WHERE p.amount <> p.excess + COALESCE(a.taken, 0) OR p.excess <> 0 ORDER BY p.id LIMIT $1`,
			func(scan func(...any) error) (string, error) {
				var id int64
				var payer string
				var amount, excess, taken money.Fen
				err := scan(&id, &payer, &amount, &excess, &taken)
				return fmt.Sprintf("%s: amount %s, but its allocations take %s and it records %s left over",
					paymentName(id, payer), amount, taken, excess), err
			}},
		{`SELECT p.id, p.payer, b.id, b.payer, b.month FROM payment_allocations a JOIN payments p ON p.id = a.payment_id
			JOIN bills b ON b.id = a.bill_id WHERE b.payer <> p.payer OR b.region <> p.region ORDER BY p.id, b.id LIMIT $1`,
			func(scan func(...any) error) (string, error) {
				var id, bill int64
				var payer, billPayer string
				var month int
				err := scan(&id, &payer, &bill, &billPayer, &month)
				return fmt.Sprintf("%s is allocated to %s, another payer's", paymentName(id, payer), billName(bill, billPayer, month)), err
			}},
		{`SELECT b.id, b.payer, b.month, b.accounts_credited FROM bills b
			WHERE (b.accounts_credited AND b.paid < b.total) OR (NOT b.accounts_credited AND b.total > 0 AND b.paid >= b.total) ORDER BY b.id LIMIT $1`,
			func(scan func(...any) error) (string, error) {
				var id int64
				var payer string
				var month int
				var credited bool
				err := scan(&id, &payer, &month, &credited)
				if credited {
					return billName(id, payer, month) + ": its personal accounts are credited, but it is not paid in full", err
				}
				return billName(id, payer, month) + ": paid in full, but its personal accounts were never credited", err
			}},
	}
	for _, c := range checks {
		if err := db.EachRow(ctx, tx, func(scan func(...any) error) error {
			s, err := c.what(scan)
			if err == nil {
				f.Add("%s", s)
			}
			return err
		}, c.q, limit); err != nil {
			return err
		}
	}
	if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM bills").Scan(&rep.Bills); err != nil {
		return err
	}
	return tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM contribution_lines").Scan(&rep.Lines)
}

// billName and paymentName name a record in a problem.
func billName(id int64, payer string, month int) string {
	return fmt.Sprintf("bill %d (%s, %s)", id, payer, period.Month(month))
}

func paymentName(id int64, payer string) string { return fmt.Sprintf("payment %d (%s)", id, payer) }

// checkedBill is a bill of one month as its lines make it.
type checkedBill struct {
	id      int64
	totals  billTotals // the bill's own total; the funds from its lines
	persons int
	entry   int64 // the run entry that books it, once found
}

// checkBillsBooked compares every month's bills with their lines and with the monthly run's
// entries, one region's month at a time so that memory holds one month's bills.
func checkBillsBooked(ctx context.Context, tx *db.Tx, f *ledger.Findings, _ *CheckReport) error {
	type regionMonth struct {
		region string
		month  period.Month
	}
	seen := map[regionMonth]bool{}
	var months []regionMonth
	add := func(rm regionMonth) {
		if !seen[rm] {
			seen[rm] = true
			months = append(months, rm)
		}
	}
	if err := db.EachRow(ctx, tx, func(scan func(...any) error) error {
		var rm regionMonth
		var m int
		err := scan(&rm.region, &m)
		rm.month = period.Month(m)
		add(rm)
		return err
	}, "SELECT DISTINCT region, month FROM bills ORDER BY region, month"); err != nil {
		return err
	}
	// A run entry whose month has no bill left must be found too: its months come from the keys.
	if err := db.EachRow(ctx, tx, func(scan func(...any) error) error {
		var id int64
		var key string
		if err := scan(&id, &key); err != nil {
			return err
		}
		parts := strings.Split(key, ":")
		m, err := period.ParseMonth(safeIndex(parts, 2))
		if len(parts) != 4 || parts[0] != "bills" || err != nil {
			f.Add("entry %d (%s): a contribution entry whose key names no region's month", id, key)
			return nil
		}
		add(regionMonth{parts[1], m})
		return nil
	}, "SELECT id, idem_key FROM ledger_entries WHERE cause = $1 ORDER BY id", causeBills); err != nil {
		return err
	}
	for _, rm := range months {
		if err := checkMonth(ctx, tx, f, rm.region, rm.month); err != nil {
			return err
		}
	}
	return nil
}

// keyBill is the bill id that ends a contribution entry's key, 0 if none.
func keyBill(key string) int64 {
	i := strings.LastIndexByte(key, ':')
	id, err := strconv.ParseInt(key[i+1:], 10, 64)
	if err != nil {
		return 0
	}
	return id
}

func safeIndex(s []string, i int) string {
	if i < len(s) {
		return s[i]
	}
	return ""
}

// checkMonth compares one region's month: each bill with its lines, and the run's entries with
// the bills they book.
func checkMonth(ctx context.Context, tx *db.Tx, f *ledger.Findings, region string, month period.Month) error {
	var bills []*checkedBill
	byAccount := map[string]*checkedBill{} // the month's own bills (supplement 0), by their payers' receivables
	supplements := map[int64]*checkedBill{}
	if err := db.EachRow(ctx, tx, func(scan func(...any) error) error {
		b := &checkedBill{totals: billTotals{funds: make([]money.Fen, len(policy.Insurances))}}
		var storedPersons, supplement int
		fs := b.totals.funds
		if err := scan(&b.id, &b.totals.payer, &supplement, &b.totals.total, &storedPersons, &b.persons,
			&fs[slices.Index(policy.Insurances, policy.Pension)], &fs[slices.Index(policy.Insurances, policy.Medical)],
			&fs[slices.Index(policy.Insurances, policy.Unemployment)], &fs[slices.Index(policy.Insurances, policy.WorkInjury)]); err != nil {
			return err
		}
		var lines money.Fen
		for _, a := range fs {
			lines += a
		}
		name := billName(b.id, b.totals.payer, int(month))
		if _, _, err := ParsePayer(b.totals.payer); err != nil {
			f.Add("%s: the payer is not a payer's name", name)
			return nil
		}
		if lines != b.totals.total || storedPersons != b.persons {
			f.Add("%s: total %s for %d persons, but its lines sum to %s for %d persons", name, b.totals.total, storedPersons, lines, b.persons)
		}
		bills = append(bills, b)
		if supplement == 0 {
			byAccount[receivable(region, b.totals.payer)] = b
		} else {
			supplements[b.id] = b
		}
		return nil
	}, `SELECT b.id, b.payer, b.supplement, b.total, b.persons, COUNT(l.bill_id),
		COALESCE(SUM(l.pension_employer + l.pension_employee), 0), COALESCE(SUM(l.medical_employer + l.medical_employee), 0),
		COALESCE(SUM(l.unemployment_employer + l.unemployment_employee), 0), COALESCE(SUM(l.work_injury_employer), 0)
		FROM bills b LEFT JOIN contribution_lines l ON l.bill_id = b.id WHERE b.region = $1 AND b.month = $2
		GROUP BY b.id, b.payer, b.supplement, b.total, b.persons ORDER BY b.id`, region, int(month)); err != nil {
		return err
	}

	// The run's entries of the month, each with its postings.
	type runEntry struct {
		id               int64
		key, ref, region string
		postings         []ledger.Posting
	}
	var entries []*runEntry
	if err := db.EachRow(ctx, tx, func(scan func(...any) error) error {
		var id, amount int64
		var key, ref, reg, account string
		if err := scan(&id, &key, &ref, &reg, &account, &amount); err != nil {
			return err
		}
		if len(entries) == 0 || entries[len(entries)-1].id != id {
			entries = append(entries, &runEntry{id: id, key: key, ref: ref, region: reg})
		}
		e := entries[len(entries)-1]
		e.postings = append(e.postings, ledger.Posting{Account: account, Amount: money.Fen(amount)})
		return nil
	}, `SELECT e.id, e.idem_key, e.cause_ref, e.region, p.account, p.amount FROM ledger_entries e JOIN ledger_postings p ON p.entry_id = e.id
		WHERE e.cause = $1 AND e.idem_key LIKE $2 ORDER BY e.id`, causeBills, billsKeyPrefix(region, month)+"%"); err != nil {
		return err
	}
	for _, e := range entries {
		name := fmt.Sprintf("entry %d (%s)", e.id, e.key)
		if e.ref != e.key || e.region != region {
			f.Add("%s: its cause reference %q or region %s is not the key's", name, e.ref, e.region)
		}
		// A supplementary bill's entry is named by the bill and books it alone; a run's entry books
		// the month's own bills whose payers' receivables it posts to.
		accounts := byAccount
		if b := supplements[keyBill(e.key)]; b != nil {
			accounts = map[string]*checkedBill{receivable(region, b.totals.payer): b}
		}
		var mine []billTotals
		for _, p := range e.postings {
			b := accounts[p.Account]
			if b == nil {
				continue
			}
			if b.entry != 0 {
				f.Add("%s: booked twice, by entries %d and %d", billName(b.id, b.totals.payer, int(month)), b.entry, e.id)
				continue
			}
			b.entry = e.id
			mine = append(mine, b.totals)
		}
		for _, d := range ledger.Differences(billsPostings(region, mine), e.postings) {
			if b := accounts[d.Account]; b != nil {
				f.Add("%s: total %s, but %s %s", billName(b.id, b.totals.payer, int(month)), b.totals.total, name, d)
			} else {
				f.Add("%s: against the lines of the bills it books, it %s", name, d)
			}
		}
	}
	for _, b := range bills {
		if b.entry == 0 && b.totals.total != 0 {
			f.Add("%s: total %s, but no ledger entry books it", billName(b.id, b.totals.payer, int(month)), b.totals.total)
		}
	}
	return nil
}

// checkPayments compares every payment with its ledger entry.
func checkPayments(ctx context.Context, tx *db.Tx, f *ledger.Findings, rep *CheckReport) error {
	type payment struct {
		id                     int64
		region, payer          string
		amount, principal, fee money.Fen
		entry                  int64
		cause, ref, entRegion  string
		postings               []ledger.Posting
	}
	var cur *payment
	flush := func() {
		if cur == nil {
			return
		}
		p := cur
		rep.Payments++
		name := paymentName(p.id, p.payer)
		key := paymentKey(p.id)
		if p.entry == 0 {
			f.Add("%s: amount %s, but there is no ledger entry %s", name, p.amount, key)
			return
		}
		if p.cause != causePayment || p.ref != key || p.entRegion != p.region {
			f.Add("%s: its ledger entry %d has cause %q, reference %q and region %s", name, p.entry, p.cause, p.ref, p.entRegion)
		}
		for _, d := range ledger.Differences(paymentPostings(p.region, p.payer, p.amount, p.principal, p.fee), p.postings) {
			f.Add("%s: amount %s (contributions %s, fees %s), but its ledger entry %d %s", name, p.amount, p.principal, p.fee, p.entry, d)
		}
	}
	err := db.EachRow(ctx, tx, func(scan func(...any) error) error {
		var p payment
		var account string
		var amount int64
		if err := scan(&p.id, &p.region, &p.payer, &p.amount, &p.principal, &p.fee, &p.entry, &p.cause, &p.ref, &p.entRegion, &account, &amount); err != nil {
			return err
		}
		if cur == nil || cur.id != p.id {
			flush()
			cur = &p
		}
		if account != "" {
			cur.postings = append(cur.postings, ledger.Posting{Account: account, Amount: money.Fen(amount)})
		}
		return nil
	}, `SELECT p.id, p.region, p.payer, p.amount, COALESCE(a.principal, 0), COALESCE(a.fee, 0),
		COALESCE(e.id, 0), COALESCE(e.cause, ''), COALESCE(e.cause_ref, ''), COALESCE(e.region, ''), COALESCE(lp.account, ''), COALESCE(lp.amount, 0)
		FROM payments p
		LEFT JOIN (SELECT payment_id, SUM(principal) AS principal, SUM(fee) AS fee FROM payment_allocations GROUP BY payment_id) a ON a.payment_id = p.id
		LEFT JOIN ledger_entries e ON e.idem_key = $1 || CAST(p.id AS TEXT)
		LEFT JOIN ledger_postings lp ON lp.entry_id = e.id
		ORDER BY p.id`, paymentKeyPrefix)
	if err != nil {
		return err
	}
	flush()
	return db.EachRow(ctx, tx, func(scan func(...any) error) error {
		var id int64
		var key string
		err := scan(&id, &key)
		f.Add("entry %d (%s): a payment entry without its payment", id, key)
		return err
	}, `SELECT id, idem_key FROM ledger_entries WHERE cause = $1 AND id NOT IN
		(SELECT e.id FROM payments p JOIN ledger_entries e ON e.idem_key = $2 || CAST(p.id AS TEXT)) ORDER BY id LIMIT 100`, causePayment, paymentKeyPrefix)
}

// checkAccounts compares every personal-account credit with the shares of its bill's lines: one
// stream, in bill order, of the lines of credited bills and the postings of the bills' credit
// entries, so that memory holds one bill at a time.
func checkAccounts(ctx context.Context, tx *db.Tx, f *ledger.Findings, _ *CheckReport) error {
	type credited struct {
		id            int64
		region, payer string
		month         int
		marked        bool
		shares        []share
		entry         int64
		cause, ref    string
		postings      []ledger.Posting
	}
	var cur *credited
	flush := func() {
		if cur == nil {
			return
		}
		b := cur
		name := billName(b.id, b.payer, b.month)
		switch {
		case b.entry != 0 && (b.cause != causeAccounts || b.ref != accountsKey(b.id)):
			f.Add("%s: its personal-account entry %d has cause %q and reference %q", name, b.entry, b.cause, b.ref)
		case !b.marked:
			// A bill not marked credited has no lines in the stream; checkRecords has said whether
			// it should have been.
			f.Add("%s: its personal accounts were credited by entry %d, but the bill is not marked credited", name, b.entry)
			return
		}
		want := accountsPostings(b.region, b.shares)
		if len(want) > 0 && b.entry == 0 {
			f.Add("%s: marked credited, but there is no ledger entry %s", name, accountsKey(b.id))
			return
		}
		for _, d := range ledger.Differences(want, b.postings) {
			f.Add("%s: its personal-account entry %d %s", name, b.entry, d)
		}
	}
	err := db.EachRow(ctx, tx, func(scan func(...any) error) error {
		var c credited
		var src int
		var s share
		var account string
		var amount int64
		if err := scan(&c.id, &c.region, &c.payer, &c.month, &c.marked, &src, &s.person, &s.pension, &s.medical,
			&c.entry, &c.cause, &c.ref, &account, &amount); err != nil {
			return err
		}
		if cur == nil || cur.id != c.id {
			flush()
			cur = &c
		}
		if src == 0 {
			cur.shares = append(cur.shares, s)
		} else {
			cur.entry, cur.cause, cur.ref = c.entry, c.cause, c.ref
			cur.postings = append(cur.postings, ledger.Posting{Account: account, Amount: money.Fen(amount)})
		}
		return nil
	}, `SELECT b.id, b.region, b.payer, b.month, b.accounts_credited, 0, l.person_id, l.to_pension_account, l.to_medical_account, 0, '', '', '', 0
		FROM bills b JOIN contribution_lines l ON l.bill_id = b.id WHERE b.accounts_credited
		UNION ALL
		SELECT b.id, b.region, b.payer, b.month, b.accounts_credited, 1, 0, 0, 0, e.id, e.cause, e.cause_ref, p.account, p.amount
		FROM bills b JOIN ledger_entries e ON e.idem_key = $1 || CAST(b.id AS TEXT) JOIN ledger_postings p ON p.entry_id = e.id
		ORDER BY 1, 6, 7`, accountsKeyPrefix)
	if err != nil {
		return err
	}
	flush()
	return db.EachRow(ctx, tx, func(scan func(...any) error) error {
		var id int64
		var key string
		err := scan(&id, &key)
		f.Add("entry %d (%s): a personal-account entry without its bill", id, key)
		return err
	}, `SELECT id, idem_key FROM ledger_entries WHERE cause = $1 AND id NOT IN
		(SELECT e.id FROM bills b JOIN ledger_entries e ON e.idem_key = $2 || CAST(b.id AS TEXT)) ORDER BY id LIMIT 100`, causeAccounts, accountsKeyPrefix)
}
