// Package ledger is the double-entry book of the social insurance funds: each person's pension and
// medical personal accounts, each employer's receivable, the pooled fund of each insurance type and
// the bank clearing account.
//
// Every entry is balanced (debits equal credits), carries its cause (a bill line, a payment, a
// settlement, a benefit) and an idempotency key, and is never changed: a correction is a reversing
// entry, and an entry is reversed at most once. Balances are kept beside the postings in the same
// transaction; Check proves them equal to the sums of the postings and every other invariant.
// A personal account never goes below zero.
//
// This package must never update or delete a posting, and never accept an entry it cannot balance.
package ledger

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/money"
)

// Kind of account.
type Kind string

const (
	PersonPension      Kind = "person_pension"
	PersonMedical      Kind = "person_medical"
	EmployerReceivable Kind = "employer_receivable"
	PersonReceivable   Kind = "person_receivable" // a flexible worker's own bill
	Fund               Kind = "fund"
	BankClearing       Kind = "bank_clearing"
	// InstitutionPayable is what the bureau owes a designated hospital or pharmacy for what its
	// settlements took from the pool and the personal accounts, until the month's clearing pays it.
	InstitutionPayable Kind = "institution_payable"
	// TransferClearing is what one region and another owe each other for a transfer of a person's
	// insurance (转移接续) between the step that moves the accounts and the remittance: the sending
	// region's is in credit (owed to the other), the receiving region's in debit (owed by it).
	TransferClearing Kind = "transfer_clearing"
)

// normal says on which side an account's balance grows, and whether it may be overdrawn.
var normal = map[Kind]struct {
	side      string
	protected bool
}{
	PersonPension:      {"credit", true},
	PersonMedical:      {"credit", true},
	EmployerReceivable: {"debit", false},
	PersonReceivable:   {"debit", false},
	Fund:               {"credit", false},
	BankClearing:       {"debit", false},
	InstitutionPayable: {"credit", false},
	TransferClearing:   {"debit", false},
}

// Account names: a kind and its owner, e.g. "person_pension:330100:42", "fund:330100:medical",
// "bank_clearing:330100".
func PersonAccount(region string, k Kind, personID int64) string {
	return fmt.Sprintf("%s:%s:%d", k, region, personID)
}

// EmployerAccount is an employer's receivable.
func EmployerAccount(region string, employerID int64) string {
	return fmt.Sprintf("%s:%s:%d", EmployerReceivable, region, employerID)
}

// FundAccount is the pooled fund of an insurance type.
func FundAccount(region, insurance string) string {
	return fmt.Sprintf("%s:%s:%s", Fund, region, insurance)
}

// InstitutionAccount is what the bureau owes a designated institution.
func InstitutionAccount(region, code string) string {
	return fmt.Sprintf("%s:%s:%s", InstitutionPayable, region, code)
}

// TransferAccount is a region's transfer clearing account with another region.
func TransferAccount(region, other string) string {
	return fmt.Sprintf("%s:%s:%s", TransferClearing, region, other)
}

// ClearingAccount is the region's bank clearing account.
func ClearingAccount(region string) string { return fmt.Sprintf("%s:%s", BankClearing, region) }

func kindOf(account string) (Kind, string, error) {
	parts := strings.Split(account, ":")
	if len(parts) < 2 {
		return "", "", fmt.Errorf("ledger: account %q has no kind and region", account)
	}
	k := Kind(parts[0])
	if _, ok := normal[k]; !ok {
		return "", "", fmt.Errorf("ledger: account %q is of no known kind", account)
	}
	return k, parts[1], nil
}

// Posting is one line of an entry: amount > 0 debits the account, amount < 0 credits it.
type Posting struct {
	Account string
	Amount  money.Fen
}

// Entry is a balanced set of postings with its cause and idempotency key.
type Entry struct {
	IdemKey  string
	Region   string
	Cause    string // "contribution", "payment", "settlement", "benefit", "reversal", …
	CauseRef string // what caused it, e.g. "bill:12:202611:42"
	Postings []Posting
}

// An entry's content hash is stored beside it: a retry with the same key but other content is
// refused by it, and Check recomputes it from the postings, so a posting, an amount, an account, the
// cause or the key changed in the database alone is found.
//
// Hashes written before the second form are bare hex of the first form: the region, cause, cause
// reference and postings joined by "|" (which a cause reference holding "|" could make ambiguous),
// without the idempotency key. Every entry is verified by the form it was written in, so no stored
// hash is ever rewritten, and a change made before the second form existed is still found.
const hashV2 = "v2:"

// contentHash is the second form: SHA-256 over every field that defines the entry — idempotency
// key, region, cause, cause reference, the entry it reverses, and the postings in account order —
// each prefixed by its length, so no two different entries encode to the same bytes.
func (e Entry) contentHash(reverses int64) string {
	ps := slices.Clone(e.Postings)
	slices.SortFunc(ps, func(a, b Posting) int { return strings.Compare(a.Account, b.Account) })
	h := sha256.New()
	var n [8]byte
	field := func(s string) {
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	field(e.IdemKey)
	field(e.Region)
	field(e.Cause)
	field(e.CauseRef)
	field(strconv.FormatInt(reverses, 10))
	field(strconv.Itoa(len(ps)))
	for _, p := range ps {
		field(p.Account)
		field(strconv.FormatInt(int64(p.Amount), 10))
	}
	return hashV2 + hex.EncodeToString(h.Sum(nil))
}

// ContentHash is the hash Post stores beside an entry that reverses nothing: for loaders that
// write entries in bulk (the inquiry benchmark's ten years of history) and must leave them as
// Check expects them.
func (e Entry) ContentHash() string { return e.contentHash(0) }

// legacyHash is the first form, kept to verify the entries written with it.
func (e Entry) legacyHash() string {
	ps := slices.Clone(e.Postings)
	slices.SortFunc(ps, func(a, b Posting) int { return strings.Compare(a.Account, b.Account) })
	h := sha256.New()
	fmt.Fprintf(h, "%s|%s|%s", e.Region, e.Cause, e.CauseRef)
	for _, p := range ps {
		fmt.Fprintf(h, "|%s=%d", p.Account, p.Amount)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// hashLike computes the entry's hash in the form of a stored one.
func (e Entry) hashLike(stored string, reverses int64) string {
	if strings.HasPrefix(stored, hashV2) {
		return e.contentHash(reverses)
	}
	return e.legacyHash()
}

// validate checks an entry before any write: at least two postings, no zero amounts, each account
// once, and debits equal to credits.
func (e Entry) validate() error {
	if e.IdemKey == "" || len(e.IdemKey) > 200 {
		return errs.Field("idempotency_key", "1–200 characters")
	}
	if len(e.Postings) < 2 {
		return errs.E(errs.Invalid, "an entry has at least two postings")
	}
	var sum money.Fen
	seen := map[string]bool{}
	for _, p := range e.Postings {
		if p.Amount == 0 {
			return errs.E(errs.Invalid, "a posting of zero to %s", p.Account)
		}
		if seen[p.Account] {
			return errs.E(errs.Invalid, "account %s appears twice in one entry", p.Account)
		}
		seen[p.Account] = true
		_, region, err := kindOf(p.Account)
		if err != nil {
			return errs.Wrap(errs.Invalid, err, "unknown account")
		}
		// An entry is one region's: its accounts and postings live on the region's shard
		// (docs/scale.md), and money between regions moves by a transfer's two entries.
		if region != e.Region {
			return errs.E(errs.Invalid, "account %s is not of the entry's region %s", p.Account, e.Region)
		}
		sum += p.Amount
	}
	if sum != 0 {
		return errs.E(errs.Invalid, "the entry does not balance: debits and credits differ by %s", sum)
	}
	return nil
}

// Result says what Post did.
type Result struct {
	EntryID int64
	Replay  bool // the same entry was posted before with this key; nothing was written
}

// ErrOverdraft refuses an entry that would take a personal account below zero.
var ErrOverdraft = errs.E(errs.Conflict, "insufficient balance in the personal account")

// Post writes a balanced entry in tx. The same key with the same content is a replay and writes
// nothing; the same key with other content is refused.
func Post(ctx context.Context, tx *db.Tx, e Entry) (Result, error) {
	return post(ctx, tx, e, 0)
}

func post(ctx context.Context, tx *db.Tx, e Entry, reverses int64) (Result, error) {
	if err := e.validate(); err != nil {
		return Result{}, err
	}
	hash := e.contentHash(reverses)
	now := db.FormatTime(tx.Now)
	var id int64
	err := tx.QueryRowContext(ctx, `INSERT INTO ledger_entries(region, idem_key, content_hash, cause, cause_ref, at, reverses)
		VALUES($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING RETURNING id`,
		e.Region, e.IdemKey, hash, e.Cause, e.CauseRef, now, nullID(reverses)).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		// Nothing written: the key was used before, or (DO NOTHING names no one key, so that the
		// SQL is the same whatever the engine's keys) the entry reversed was reversed before.
		var prior string
		err := tx.QueryRowContext(ctx, "SELECT id, content_hash FROM ledger_entries WHERE region = $1 AND idem_key = $2", e.Region, e.IdemKey).Scan(&id, &prior)
		if errors.Is(err, sql.ErrNoRows) && reverses != 0 {
			return Result{}, errs.E(errs.Conflict, "the entry was already reversed")
		}
		if err != nil {
			return Result{}, fmt.Errorf("ledger: read prior entry: %w", err)
		}
		if e.hashLike(prior, reverses) != prior {
			return Result{}, errs.E(errs.Conflict, "the idempotency key %q was used for a different entry", e.IdemKey)
		}
		return Result{EntryID: id, Replay: true}, nil
	}
	if err != nil {
		if db.IsUniqueViolation(err) && reverses != 0 {
			return Result{}, errs.E(errs.Conflict, "the entry was already reversed")
		}
		return Result{}, fmt.Errorf("ledger: write entry: %w", err)
	}
	// Open any new accounts and write the postings, one statement each for the whole entry; then
	// move each account's balance, checking the accounts that may not be overdrawn.
	accts := tx.Inserter("ledger_accounts", "code", "region", "kind", "normal", "no_overdraft", "created_at").SkipConflicts("code, region")
	posts := tx.Inserter("ledger_postings", "region", "entry_id", "account", "amount", "at_day")
	for _, p := range e.Postings {
		k, region, _ := kindOf(p.Account)
		n := normal[k]
		if err := accts.Add(ctx, p.Account, region, string(k), n.side, n.protected, now); err != nil {
			return Result{}, fmt.Errorf("ledger: open accounts: %w", err)
		}
	}
	if err := accts.Close(ctx); err != nil {
		return Result{}, fmt.Errorf("ledger: open accounts: %w", err)
	}
	for _, p := range e.Postings {
		if err := posts.Add(ctx, e.Region, id, p.Account, int64(p.Amount), Day(tx.Now)); err != nil {
			return Result{}, fmt.Errorf("ledger: write postings: %w", err)
		}
	}
	if err := posts.Close(ctx); err != nil {
		return Result{}, fmt.Errorf("ledger: write postings: %w", err)
	}
	moves := make([]move, len(e.Postings))
	for i, p := range e.Postings {
		moves[i] = move{p.Account, int64(p.Amount)}
	}
	final, err := moveBalances(ctx, tx, moves)
	if err != nil {
		return Result{}, err
	}
	for _, a := range final {
		if a.protected && signed(a.side, a.balance) < 0 {
			return Result{}, ErrOverdraft
		}
	}
	return Result{EntryID: id}, nil
}

// move adds amount to an account's stored balance.
type move struct {
	account string
	amount  int64
}

// moved is an account after its balance moved.
type moved struct {
	side      string
	balance   int64 // stored: debits positive
	protected bool
}

// moveBalances moves every balance, a few hundred accounts per statement (one round trip on
// PostgreSQL, not one per account); the statement answers the new balances, so an overdrawn
// protected account is caught without reading it again. Each account must appear once in moves,
// so that each row is updated once.
func moveBalances(ctx context.Context, tx *db.Tx, moves []move) (map[string]moved, error) {
	final := make(map[string]moved, len(moves))
	for start := 0; start < len(moves); start += balancesPerStatement {
		chunk := moves[start:min(start+balancesPerStatement, len(moves))]
		rows := make([][]any, len(chunk))
		for i, m := range chunk {
			rows[i] = []any{m.account, m.amount}
		}
		from, args := db.Values(1, []string{db.Text, db.BigInt}, rows)
		q := "UPDATE ledger_accounts SET balance = balance + v.column2 FROM " + from +
			" WHERE ledger_accounts.code = v.column1 RETURNING ledger_accounts.code, normal, balance, no_overdraft"
		n := 0
		if err := db.EachRow(ctx, tx, func(scan func(...any) error) error {
			var code string
			var m moved
			if err := scan(&code, &m.side, &m.balance, &m.protected); err != nil {
				return err
			}
			n++
			final[code] = m
			return nil
		}, q, args...); err != nil {
			return nil, fmt.Errorf("ledger: move balances: %w", err)
		}
		if n != len(chunk) {
			return nil, fmt.Errorf("ledger: moved %d balances of %d postings", n, len(chunk))
		}
	}
	return final, nil
}

// PostMany writes new entries in tx, in order, with a handful of statements for all of them: the
// same entries, postings and balances that one Post each would write. It is for a writer of many
// fresh entries at once (the settlement writer's batch). An entry whose key was used before fails
// the whole call, as does an entry Post would refuse, or a protected account that any entry, in
// order, would take below zero; the caller then posts them one at a time to learn which.
func PostMany(ctx context.Context, tx *db.Tx, es []Entry) ([]int64, error) {
	if len(es) == 0 {
		return nil, nil
	}
	keys := make(map[string]int, len(es))
	for i, e := range es {
		if err := e.validate(); err != nil {
			return nil, err
		}
		if _, dup := keys[e.IdemKey]; dup {
			return nil, errs.E(errs.Conflict, "the idempotency key %q is given twice", e.IdemKey)
		}
		keys[e.IdemKey] = i
	}
	now := db.FormatTime(tx.Now)
	ids := make([]int64, len(es))
	ins := tx.Inserter("ledger_entries", "region", "idem_key", "content_hash", "cause", "cause_ref", "at").Returning("id, idem_key", func(rows *sql.Rows) error {
		var id int64
		var key string
		if err := rows.Scan(&id, &key); err != nil {
			return err
		}
		if i, ok := keys[key]; ok {
			ids[i] = id
		}
		return nil
	})
	for _, e := range es {
		if err := ins.Add(ctx, e.Region, e.IdemKey, e.contentHash(0), e.Cause, e.CauseRef, now); err != nil {
			return nil, fmt.Errorf("ledger: write entries: %w", err)
		}
	}
	if err := ins.Close(ctx); err != nil {
		return nil, fmt.Errorf("ledger: write entries: %w", err)
	}
	accts := tx.Inserter("ledger_accounts", "code", "region", "kind", "normal", "no_overdraft", "created_at").SkipConflicts("code, region")
	posts := tx.Inserter("ledger_postings", "region", "entry_id", "account", "amount", "at_day")
	total := map[string]int64{}
	var order []string // accounts in the order first met, so that statements are the same run to run
	for i, e := range es {
		if ids[i] == 0 {
			return nil, fmt.Errorf("ledger: entry %q was not written", e.IdemKey)
		}
		for _, p := range e.Postings {
			if _, seen := total[p.Account]; !seen {
				k, region, _ := kindOf(p.Account)
				n := normal[k]
				if err := accts.Add(ctx, p.Account, region, string(k), n.side, n.protected, now); err != nil {
					return nil, fmt.Errorf("ledger: open accounts: %w", err)
				}
				order = append(order, p.Account)
			}
			total[p.Account] += int64(p.Amount)
			if err := posts.Add(ctx, e.Region, ids[i], p.Account, int64(p.Amount), Day(tx.Now)); err != nil {
				return nil, fmt.Errorf("ledger: write postings: %w", err)
			}
		}
	}
	// The accounts first: a posting refers to its account.
	if err := accts.Close(ctx); err != nil {
		return nil, fmt.Errorf("ledger: open accounts: %w", err)
	}
	if err := posts.Close(ctx); err != nil {
		return nil, fmt.Errorf("ledger: write postings: %w", err)
	}
	moves := make([]move, len(order))
	for i, a := range order {
		moves[i] = move{a, total[a]}
	}
	final, err := moveBalances(ctx, tx, moves)
	if err != nil {
		return nil, err
	}
	// A protected account must stay at or above zero after every entry, not only after the last:
	// walk the entries from the balance before them.
	run := map[string]int64{}
	for a, m := range final {
		if m.protected {
			run[a] = m.balance - total[a]
		}
	}
	for _, e := range es {
		for _, p := range e.Postings {
			if b, ok := run[p.Account]; ok {
				b += int64(p.Amount)
				run[p.Account] = b
				if signed(final[p.Account].side, b) < 0 {
					return nil, ErrOverdraft
				}
			}
		}
	}
	return ids, nil
}

// Balances are several accounts' balances, as Balance gives each; an account not opened yet is 0.
func Balances(ctx context.Context, r *db.Tx, accounts []string) (map[string]money.Fen, error) {
	out := make(map[string]money.Fen, len(accounts))
	for start := 0; start < len(accounts); start += balancesPerStatement {
		in, args := db.In(r.Dialect, 1, accounts[start:min(start+balancesPerStatement, len(accounts))])
		q := "SELECT code, normal, balance FROM ledger_accounts WHERE code " + in
		if err := db.EachRow(ctx, r, func(scan func(...any) error) error {
			var code, side string
			var bal int64
			if err := scan(&code, &side, &bal); err != nil {
				return err
			}
			out[code] = signed(side, bal)
			return nil
		}, q, args...); err != nil {
			return nil, fmt.Errorf("ledger: balances: %w", err)
		}
	}
	return out, nil
}

// balancesPerStatement bounds one balance update's parameters well under either engine's limit.
const balancesPerStatement = 500

// signed turns a stored balance (debits positive) into the account's own sense.
func signed(side string, bal int64) money.Fen {
	if side == "credit" {
		return money.Fen(-bal)
	}
	return money.Fen(bal)
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// Reverse posts the exact opposite of an entry, once.
func Reverse(ctx context.Context, tx *db.Tx, entryID int64, idemKey, reason string) (Result, error) {
	var region, cause, ref string
	if err := tx.QueryRowContext(ctx, "SELECT region, cause, cause_ref FROM ledger_entries WHERE id = $1", entryID).Scan(&region, &cause, &ref); err != nil {
		return Result{}, errs.E(errs.NotFound, "no ledger entry %d", entryID)
	}
	rows, err := tx.QueryContext(ctx, "SELECT account, amount FROM ledger_postings WHERE entry_id = $1", entryID)
	if err != nil {
		return Result{}, err
	}
	var ps []Posting
	for rows.Next() {
		var p Posting
		var amt int64
		if err := rows.Scan(&p.Account, &amt); err != nil {
			rows.Close()
			return Result{}, err
		}
		p.Amount = -money.Fen(amt)
		ps = append(ps, p)
	}
	rows.Close()
	return post(ctx, tx, Entry{IdemKey: idemKey, Region: region, Cause: "reversal", CauseRef: "entry:" + strconv.FormatInt(entryID, 10) + ":" + reason, Postings: ps}, entryID)
}

// Balance is an account's balance in its own sense (a personal account's money is positive).
func Balance(ctx context.Context, r db.Reader, account string) (money.Fen, error) {
	var side string
	var bal int64
	err := r.QueryRowContext(ctx, "SELECT normal, balance FROM ledger_accounts WHERE code = $1", account).Scan(&side, &bal)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("ledger: balance: %w", err)
	}
	return signed(side, bal), nil
}

// Movement is one posting to an account, in the account's own sense (a credit to a personal
// account is positive).
type Movement struct {
	EntryID  int64
	At       time.Time
	Cause    string
	CauseRef string
	Amount   money.Fen
}

// Movements lists an account's postings, newest first, at most limit of them.
func Movements(ctx context.Context, r db.Reader, account string, limit int) ([]Movement, error) {
	return MovementsBetween(ctx, r, account, time.Time{}, time.Time{}, limit)
}

// Day is the UTC date of t as the number yyyymmdd: the day a posting carries, its entry's (the
// stored times are UTC). It only narrows which postings are read; their entries' times decide.
func Day(t time.Time) int {
	t = t.UTC()
	return t.Year()*10000 + int(t.Month())*100 + t.Day()
}

// MovementsBetween lists an account's postings dated from from (inclusive) to to (exclusive),
// newest first (by their entries' times), at most limit of them; a zero time leaves that end open. A statement of one year
// reads its year this way, not the whole history.
func MovementsBetween(ctx context.Context, r db.Reader, account string, from, to time.Time, limit int) ([]Movement, error) {
	var side string
	err := r.QueryRowContext(ctx, "SELECT normal FROM ledger_accounts WHERE code = $1", account).Scan(&side)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	// The postings' days pick the span's range of the account's index; only those are joined to
	// their entries for the exact time.
	q, args := `SELECT e.id, e.at, e.cause, e.cause_ref, p.amount FROM ledger_postings p
		JOIN ledger_entries e ON e.id = p.entry_id WHERE p.account = $1`, []any{account}
	if !from.IsZero() {
		args = append(args, Day(from), db.FormatTime(from))
		q += fmt.Sprintf(" AND p.at_day >= $%d AND e.at >= $%d", len(args)-1, len(args))
	}
	if !to.IsZero() {
		args = append(args, Day(to), db.FormatTime(to))
		q += fmt.Sprintf(" AND p.at_day <= $%d AND e.at < $%d", len(args)-1, len(args))
	}
	args = append(args, limit)
	// Newest first by the entries' times, then by id: entries are written in time order, but
	// history built afterwards (the demo's older months, through db.At) has later ids than the
	// months written before it. The span is a person's year or so, sorted cheaply.
	rows, err := r.QueryContext(ctx, q+fmt.Sprintf(" ORDER BY e.at DESC, p.entry_id DESC LIMIT $%d", len(args)), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Movement
	for rows.Next() {
		var m Movement
		var at string
		var amount int64
		if err := rows.Scan(&m.EntryID, &at, &m.Cause, &m.CauseRef, &amount); err != nil {
			return nil, err
		}
		m.At, _ = db.ParseTime(at)
		m.Amount = signed(side, amount)
		out = append(out, m)
	}
	return out, rows.Err()
}

// BalanceAt is an account's balance as it stood at t: today's balance less every posting dated
// at t or later (in the account's own sense, as Balance).
func BalanceAt(ctx context.Context, r db.Reader, account string, t time.Time) (money.Fen, error) {
	var side string
	var bal, after int64
	err := r.QueryRowContext(ctx, `SELECT a.normal, a.balance, COALESCE((SELECT SUM(p.amount) FROM ledger_postings p
		JOIN ledger_entries e ON e.id = p.entry_id WHERE p.account = a.code AND p.at_day >= $3 AND e.at >= $2), 0)
		FROM ledger_accounts a WHERE a.code = $1`, account, db.FormatTime(t), Day(t)).Scan(&side, &bal, &after)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("ledger: balance at %s: %w", t.Format(time.RFC3339), err)
	}
	return signed(side, bal-after), nil
}
