package settle

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
	"unicode/utf8"

	"github.com/emmansun/gmsm/sm3"

	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/card"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/ident"
	"github.com/shebao/shebao/internal/ledger"
	"github.com/shebao/shebao/internal/money"
	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/policy"
	"github.com/shebao/shebao/internal/registry"
)

// ItemIn is an item line as an institution's system sends it.
type ItemIn struct {
	Code     string
	Name     string
	Category string
	Amount   string // yuan
}

// CardProof is the social security card's answer to GENERATE TRANSACTION CRYPTOGRAM, with what
// the terminal read from the chip (docs/keys.md).
type CardProof struct {
	CardID        string // the card identification code, 32 hex characters (EF05 tag 01)
	KeyVersion    int    // EF05's key version
	ATC           int    // the card's transaction counter
	Unpredictable string // the terminal's 4 random bytes, 8 hex characters
	Cryptogram    string // 8 bytes, 16 hex characters
}

// Identity is how the person was identified: exactly one of the three.
type Identity struct {
	Card        *CardProof // the social security card, authenticated by its cryptogram
	ECardQR     string     // the electronic card's code
	MedicalCard string     // the bank's medical insurance card's number
	Bank        string     // the medical card's bank, when its number alone is ambiguous
}

// Request is a settlement as an institution sends it.
type Request struct {
	IdemKey    string
	Kind       string // outpatient, inpatient or pharmacy
	Date       string // YYYY-MM-DD, Beijing
	Identity   Identity
	UseAccount *bool // nil = true: the personal account pays what it can
	Items      []ItemIn
}

// Settlement is a settlement as it stands, with every figure of its split.
type Settlement struct {
	ID             string // the region and the region's number, 16 digits
	Region         string
	Institution    string
	Kind           string
	Date           time.Time // a calendar date
	PersonID       int64
	Name           string
	IDNumber       ident.IDNumber
	Means          card.Means
	CardRef        string
	UseAccount     bool
	Items          []Item
	Split          Split
	AccountBalance money.Fen // the medical personal account after the settlement
	EntryID        int64
	Operator       string
	CreatedAt      time.Time
	RefundedAt     time.Time // zero unless refunded
	RefundedBy     string
	// Replay is set when the answer is the first answer to an earlier request with this key.
	Replay bool
}

// Refunded reports whether the settlement was reversed.
func (s *Settlement) Refunded() bool { return !s.RefundedAt.IsZero() }

// maxItems bounds a bill.
const maxItems = 500

// maxDaysBack is how far back a settlement may be dated: a hospital's system settles at
// discharge, and sometimes later, but not a quarter of a year later.
const maxDaysBack = 90

// validated is a request that passed its own checks, before anything is read.
type validated struct {
	kind       string
	date       time.Time
	year       int
	useAccount bool
	items      []Item
	total      money.Fen
	digest     [32]byte
	hash       string // of the whole request: the idempotency key's content
}

// check validates a request on its own and reports every problem at once.
func (s *Service) check(inst Institution, r Request) (validated, error) {
	f := errs.Fields{}
	v := validated{kind: r.Kind, useAccount: r.UseAccount == nil || *r.UseAccount}
	if k := strings.TrimSpace(r.IdemKey); k == "" || len(k) > 100 {
		f.Add("idempotency_key", "required: 1–100 characters, the same on every retry")
	}
	switch {
	case !slices.Contains(policy.SettlementKinds, r.Kind):
		f.Add("kind", "outpatient, inpatient or pharmacy")
	case inst.Kind == Pharmacy && r.Kind != policy.Pharmacy:
		f.Add("kind", "a pharmacy settles pharmacy purchases only")
	case inst.Kind == Hospital && r.Kind == policy.Pharmacy:
		f.Add("kind", "a hospital settles outpatient or inpatient bills")
	}
	today := period.Today(s.now())
	if d, err := period.ParseDate(r.Date); err != nil {
		f.Add("date", err.Error())
	} else if d.After(today) {
		f.Add("date", "the settlement date is after today")
	} else if d.Before(today.AddDate(0, 0, -maxDaysBack)) {
		f.Add("date", fmt.Sprintf("more than %d days ago", maxDaysBack))
	} else {
		v.date, v.year = d, d.Year()
	}
	means := 0
	if r.Identity.Card != nil {
		means++
	}
	if r.Identity.ECardQR != "" {
		means++
	}
	if r.Identity.MedicalCard != "" {
		means++
	}
	if means != 1 {
		f.Add("identity", "exactly one of social_security_card, ecard_qr or medical_card")
	}
	if len(r.Items) == 0 || len(r.Items) > maxItems {
		f.Add("items", fmt.Sprintf("1–%d item lines", maxItems))
	}
	for i, in := range r.Items {
		at := fmt.Sprintf("items[%d]", i)
		it := Item{Code: strings.TrimSpace(in.Code), Name: strings.TrimSpace(in.Name), Category: Category(strings.ToUpper(strings.TrimSpace(in.Category)))}
		if it.Code == "" || len(it.Code) > 40 || strings.ContainsFunc(it.Code, isControl) {
			f.Add(at+".code", "1–40 characters")
		}
		if it.Name == "" || utf8.RuneCountInString(it.Name) > 100 || strings.ContainsFunc(it.Name, isControl) {
			f.Add(at+".name", "1–100 characters")
		}
		if it.Category != CatA && it.Category != CatB && it.Category != CatC {
			f.Add(at+".category", "A (甲类), B (乙类) or C (丙类)")
		}
		amt, err := money.ParseYuan(in.Amount)
		switch {
		case err != nil:
			f.Add(at+".amount", "an amount in yuan like 12.50")
		case amt <= 0 || amt > 100_000_000_00:
			f.Add(at+".amount", "above 0.00 and at most 100,000,000.00")
		}
		it.Amount = amt
		v.items = append(v.items, it)
		v.total += amt
	}
	if v.total > 100_000_000_00 {
		f.Add("items", "the bill's total is above 100,000,000.00")
	}
	if err := f.Err(); err != nil {
		return validated{}, err
	}
	v.digest = Digest(inst.Code, v.kind, v.date, v.useAccount, v.items)
	h := sha256.New()
	h.Write(v.digest[:])
	for _, s := range identityParts(r.Identity) {
		field(h, s)
	}
	v.hash = hex.EncodeToString(h.Sum(nil))
	return v, nil
}

func identityParts(id Identity) []string {
	switch {
	case id.Card != nil:
		c := id.Card
		return []string{"card", strings.ToUpper(c.CardID), strconv.Itoa(c.KeyVersion), strconv.Itoa(c.ATC), strings.ToUpper(c.Unpredictable), strings.ToUpper(c.Cryptogram)}
	case id.ECardQR != "":
		return []string{"ecard", strings.TrimSpace(id.ECardQR)}
	default:
		return []string{"medical_card", strings.ToUpper(strings.TrimSpace(id.MedicalCard)), strings.TrimSpace(id.Bank)}
	}
}

type writer interface{ Write([]byte) (int, error) }

// field writes a length-prefixed field, so that no two different contents encode alike.
func field(w writer, s string) {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(s)))
	w.Write(n[:])
	w.Write([]byte(s))
}

// Digest is the SM3 digest of what a settlement pays: the institution, kind, date, whether the
// account pays, and every item line. The social security card's cryptogram covers it (with the
// total, the date and the institution also in clear), so nothing between the terminal and the
// server can change a line of the bill without the card's proof failing.
func Digest(institution, kind string, date time.Time, useAccount bool, items []Item) [32]byte {
	h := sm3.New()
	field(h, "shebao settlement 1")
	field(h, institution)
	field(h, kind)
	field(h, date.Format("2006-01-02"))
	field(h, strconv.FormatBool(useAccount))
	field(h, strconv.Itoa(len(items)))
	for _, it := range items {
		field(h, it.Code)
		field(h, it.Name)
		field(h, string(it.Category))
		field(h, strconv.FormatInt(int64(it.Amount), 10))
	}
	var d [32]byte
	copy(d[:], h.Sum(nil))
	return d
}

// ItemsOf reads item lines as Digest and the split take them (for terminals computing the digest
// the card signs).
func ItemsOf(in []ItemIn) ([]Item, error) {
	out := make([]Item, 0, len(in))
	for i, it := range in {
		amt, err := money.ParseYuan(it.Amount)
		if err != nil {
			return nil, errs.Field(fmt.Sprintf("items[%d].amount", i), "an amount in yuan like 12.50")
		}
		out = append(out, Item{Code: strings.TrimSpace(it.Code), Name: strings.TrimSpace(it.Name), Category: Category(strings.ToUpper(strings.TrimSpace(it.Category))), Amount: amt})
	}
	return out, nil
}

// Settle settles a bill for the institution the principal operates. The answer comes after the
// settlement is on disk; a retry with the same key gets the first answer, and the same key with
// other content is refused.
func (s *Service) Settle(ctx context.Context, by *auth.Principal, r Request) (Settlement, error) {
	j, err := s.settleJob(ctx, by, r)
	if err != nil {
		return Settlement{}, err
	}
	out, err := s.engine.submit(j)
	if err != nil {
		return Settlement{}, err
	}
	return out.(Settlement), nil
}

// settleJob checks a request on its own and makes it the writer's job.
func (s *Service) settleJob(ctx context.Context, by *auth.Principal, r Request) (*job, error) {
	if err := by.Require(auth.Settle); err != nil {
		return nil, err
	}
	inst, err := s.operated(ctx, by)
	if err != nil {
		return nil, err
	}
	v, err := s.check(inst, r)
	if err != nil {
		return nil, err
	}
	fn := func(ctx context.Context, tx *db.Tx) (any, error) { return s.settle(ctx, tx, by, inst, r, v) }
	var together any
	if r.Identity.Card != nil {
		together = &cardRequest{by: by, inst: inst, r: r, v: v} // batch.go
	}
	return newJob(ctx, fn, together), nil
}

// operated is the approved institution an operator acts for. Every settlement asks, so approved
// institutions are kept for instTTL (settle.go).
func (s *Service) operated(ctx context.Context, by *auth.Principal) (Institution, error) {
	if by.InstitutionCode == "" {
		return Institution{}, errs.E(errs.Forbidden, "this login does not act for an institution")
	}
	if inst, ok := s.approved(by.InstitutionCode); ok && by.InRegion(inst.Region) {
		return inst, nil
	}
	inst, err := s.institution(ctx, s.db.R(), by, by.InstitutionCode, "")
	if err != nil {
		return Institution{}, err
	}
	if inst.Status != Approved {
		return Institution{}, errs.E(errs.Forbidden, "institution %s is not approved as designated", inst.Code)
	}
	s.keepApproved(inst)
	return inst, nil
}

// settle carries a validated request out in tx (inside its savepoint).
func (s *Service) settle(ctx context.Context, tx *db.Tx, by *auth.Principal, inst Institution, r Request, v validated) (Settlement, error) {
	key := strings.TrimSpace(r.IdemKey)
	// A retry answers with the first answer.
	var seq int64
	var prior string
	err := tx.QueryRowContext(ctx, "SELECT seq, request_hash FROM settlements WHERE region = $1 AND institution_code = $2 AND idem_key = $3",
		inst.Region, inst.Code, key).Scan(&seq, &prior)
	if err == nil {
		if prior != v.hash {
			return Settlement{}, errs.E(errs.Conflict, "the idempotency key %q was used for a different settlement", clip(key))
		}
		st, err := loadSettlement(ctx, tx, inst.Region, seq)
		st.Replay = true
		return st, err
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return Settlement{}, err
	}

	holder, err := s.identify(ctx, tx, by, inst, r.Identity, v)
	if err != nil {
		return Settlement{}, err
	}
	if holder.Region != inst.Region {
		return Settlement{}, errOtherRegion
	}
	month := monthOf(v.date)
	if ok, err := registry.InsuredIn(ctx, tx, holder.PersonID, policy.Medical, month); err != nil {
		return Settlement{}, err
	} else if !ok {
		return Settlement{}, notInsured(month)
	}
	rules, err := s.rules(ctx, tx, inst.Region, month)
	if err != nil {
		return Settlement{}, err
	}
	if holder.Means == card.ByMedicalCard {
		if err := s.medicalCardLimits(ctx, tx, rules, inst.Region, holder.CardRef, v); err != nil {
			return Settlement{}, err
		}
	}
	used, err := yearUsed(ctx, tx, inst.Region, holder.PersonID, v.year)
	if err != nil {
		return Settlement{}, err
	}
	balance, err := ledger.Balance(ctx, tx, ledger.PersonAccount(inst.Region, ledger.PersonMedical, holder.PersonID))
	if err != nil {
		return Settlement{}, err
	}
	split := Compute(SplitInput{Kind: v.kind, Level: inst.Level, Items: v.items, Rules: rules, Used: used, AccountBalance: balance, UseAccount: v.useAccount})
	if seq, err = nextSeq(ctx, tx, inst.Region, 1); err != nil {
		return Settlement{}, err
	}
	st := newSettlement(by, inst, v, holder, split, balance, seq, tx.Now)
	if e, ok := st.entry(); ok {
		res, err := ledger.Post(ctx, tx, e)
		if err != nil {
			return Settlement{}, err
		}
		st.EntryID = res.EntryID
	}
	if err := insertSettlements(ctx, tx, []Settlement{st}, []string{key}, []string{v.hash}); err != nil {
		return Settlement{}, err
	}
	if err := addUsed(ctx, tx, inst.Region, holder.PersonID, v.year, split.counted(v.kind), 1); err != nil {
		return Settlement{}, err
	}
	c := st.audited(by)
	if err := audit.Record(ctx, tx, c.Who, c.Action, c.Object, c.Region, c.Detail); err != nil {
		return Settlement{}, err
	}
	return st, nil
}

var errOtherRegion = errs.E(errs.Invalid, "the person is insured in another region; settlement there is not supported yet")

func notInsured(m period.Month) error {
	return errs.E(errs.Invalid, "the person has no medical insurance in %s", m)
}

// monthOf is a settlement date's month (a calendar date: midnight UTC is 08:00 in Beijing).
func monthOf(date time.Time) period.Month { return period.MonthOf(date.Add(12 * time.Hour)) }

// rules are the medical rules of the region's policy in force in month.
func (s *Service) rules(ctx context.Context, r db.Reader, region string, month period.Month) (policy.MedicalParams, error) {
	pv, err := s.policies.Effective(ctx, r, region, month)
	if err != nil {
		return policy.MedicalParams{}, err
	}
	rules, ok := pv.Policy.Medical()
	if !ok {
		return policy.MedicalParams{}, errs.E(errs.Unavailable, "the region's policy in force has no medical settlement rules")
	}
	return rules, nil
}

// newSettlement is the settlement a split makes, numbered seq, before its ledger entry.
func newSettlement(by *auth.Principal, inst Institution, v validated, holder card.Holder, split Split, balance money.Fen, seq int64, now time.Time) Settlement {
	return Settlement{ID: settlementID(inst.Region, seq), Region: inst.Region, Institution: inst.Code, Kind: v.kind, Date: v.date,
		PersonID: holder.PersonID, Name: holder.Name, IDNumber: holder.IDNumber, Means: holder.Means, CardRef: holder.CardRef,
		UseAccount: v.useAccount, Items: v.items, Split: split, AccountBalance: balance - split.Account, Operator: by.Username,
		CreatedAt: now.Truncate(time.Microsecond)} // as stored, so a retry answers the same
}

// entry is the settlement's ledger entry: the pool's part from the region's medical fund, the
// account's part from the person's medical account, both owed to the institution until the month's
// clearing. A settlement paid all in cash has none.
func (st Settlement) entry() (ledger.Entry, bool) {
	ps := settlementPostings(st.Region, st.Institution, st.PersonID, st.Split)
	if len(ps) == 0 {
		return ledger.Entry{}, false
	}
	return ledger.Entry{IdemKey: "settlement:" + st.ID, Region: st.Region, Cause: causeSettlement, CauseRef: "settlement:" + st.ID, Postings: ps}, true
}

// audited is the settlement's audit entry.
func (st Settlement) audited(by *auth.Principal) audit.Change {
	return audit.Change{Who: by.Actor(), Action: "settlement.settle", Object: "settlement:" + st.ID, Region: st.Region, Detail: map[string]any{
		"institution": st.Institution, "kind": st.Kind, "total": st.Split.Total.String(), "pool": st.Split.Pool.String(), "account": st.Split.Account.String(),
		"means": st.Means}}
}

const causeSettlement = "settlement"

// identify resolves who pays, inside tx: the card's state as of now, the e-card's code spent, the
// social security card's proof accepted once.
func (s *Service) identify(ctx context.Context, tx *db.Tx, by *auth.Principal, inst Institution, id Identity, v validated) (card.Holder, error) {
	switch {
	case id.Card != nil:
		return s.acceptCard(ctx, tx, inst, *id.Card, v)
	case id.ECardQR != "":
		return s.cards.ConsumeQR(ctx, tx, by, id.ECardQR)
	default:
		return s.cards.MedicalHolder(ctx, tx, id.MedicalCard, id.Bank)
	}
}

// medicalCardLimits: the bank's card, which nothing proves genuine, pays only the kinds and amounts
// the policy allows it.
func (s *Service) medicalCardLimits(ctx context.Context, tx *db.Tx, rules policy.MedicalParams, region, number string, v validated) error {
	if !slices.Contains(rules.CardKinds, v.kind) {
		return errs.E(errs.Invalid, "the medical insurance card may not pay for %s care; use the social security card or the electronic card", v.kind)
	}
	if v.total > rules.CardMaxEach {
		return errs.E(errs.Invalid, "the medical insurance card pays at most %s a settlement; use the social security card or the electronic card", rules.CardMaxEach)
	}
	var today int64
	// means written out, not a parameter, so that the planner sees the partial index's condition.
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(SUM(total), 0) FROM settlements WHERE region = $1 AND card_ref = $2 AND settled_on = $3
		AND means = 'medical_card' AND refunded_at = ''`, region, number, v.date.Format("2006-01-02")).Scan(&today); err != nil {
		return err
	}
	if money.Fen(today)+v.total > rules.CardMaxDay {
		return errs.E(errs.Invalid, "the medical insurance card pays at most %s a day (%s paid today already); use the social security card or the electronic card",
			rules.CardMaxDay, money.Fen(today))
	}
	return nil
}

func settlementID(region string, seq int64) string { return fmt.Sprintf("%s%010d", region, seq) }

// ParseID reads a settlement id into its region and number.
func ParseID(id string) (string, int64, error) {
	if len(id) != 16 || strings.Trim(id, "0123456789") != "" {
		return "", 0, errs.E(errs.NotFound, "no settlement %q", clip(id))
	}
	seq, _ := strconv.ParseInt(id[6:], 10, 64)
	return id[:6], seq, nil
}

// nextSeq takes the region's next n settlement numbers and returns the first.
func nextSeq(ctx context.Context, tx *db.Tx, region string, n int) (int64, error) {
	var last int64
	err := tx.QueryRowContext(ctx, "UPDATE settlement_sequence SET last = last + $2 WHERE region = $1 RETURNING last", region, n).Scan(&last)
	if errors.Is(err, sql.ErrNoRows) {
		if _, err := tx.ExecContext(ctx, "INSERT INTO settlement_sequence(region, last) VALUES($1, $2)", region, n); err != nil {
			return 0, err
		}
		return 1, nil
	}
	return last - int64(n) + 1, err
}

// insertSettlements writes settlements and their items, with the idempotency keys and request
// hashes they were made under.
func insertSettlements(ctx context.Context, tx *db.Tx, sts []Settlement, keys, hashes []string) error {
	rows := tx.Inserter("settlements", "region", "seq", "institution_code", "idem_key", "request_hash", "kind", "settled_on", "year", "person_id",
		"means", "card_ref", "use_account", "total", "self_pay_c", "first_self_pay_b", "eligible", "deductible", "ratio", "pool", "account", "cash", "cap_left",
		"account_balance", "entry_id", "operator", "created_at")
	items := tx.Inserter("settlement_items", "region", "seq", "line", "code", "name", "category", "amount")
	for i, st := range sts {
		region, seq, _ := ParseID(st.ID)
		sp := st.Split
		if err := rows.Add(ctx, region, seq, st.Institution, keys[i], hashes[i], st.Kind, st.Date.Format("2006-01-02"), st.Date.Year(), st.PersonID,
			string(st.Means), st.CardRef, st.UseAccount, int64(sp.Total), int64(sp.SelfPayC), int64(sp.FirstSelfPayB), int64(sp.Eligible),
			int64(sp.Deductible), int64(sp.Ratio), int64(sp.Pool), int64(sp.Account), int64(sp.Cash), int64(sp.CapLeft), int64(st.AccountBalance),
			nullID(st.EntryID), st.Operator, db.FormatTime(st.CreatedAt)); err != nil {
			return fmt.Errorf("settle: write settlement: %w", err)
		}
		for n, it := range st.Items {
			if err := items.Add(ctx, region, seq, n+1, it.Code, it.Name, string(it.Category), int64(it.Amount)); err != nil {
				return fmt.Errorf("settle: write items: %w", err)
			}
		}
	}
	if err := rows.Close(ctx); err != nil {
		return fmt.Errorf("settle: write settlement: %w", err)
	}
	if err := items.Close(ctx); err != nil {
		return fmt.Errorf("settle: write items: %w", err)
	}
	return nil
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

const settlementColumns = `s.region, s.seq, s.institution_code, s.kind, s.settled_on, s.person_id, p.name, p.id_number, s.means, s.card_ref, s.use_account,
	s.total, s.self_pay_c, s.first_self_pay_b, s.eligible, s.deductible, s.ratio, s.pool, s.account, s.cash, s.cap_left, s.account_balance,
	COALESCE(s.entry_id, 0), s.operator, s.created_at, s.refunded_at, s.refunded_by`

const settlementFrom = " FROM settlements s JOIN persons p ON p.id = s.person_id "

func scanSettlement(row interface{ Scan(...any) error }) (Settlement, error) {
	var st Settlement
	var seq int64
	var on, created, refunded, idn, means string
	var sp Split
	var total, c, b, el, ded, ratio, pool, acct, cash, capLeft, bal int64
	if err := row.Scan(&st.Region, &seq, &st.Institution, &st.Kind, &on, &st.PersonID, &st.Name, &idn, &means, &st.CardRef, &st.UseAccount,
		&total, &c, &b, &el, &ded, &ratio, &pool, &acct, &cash, &capLeft, &bal, &st.EntryID, &st.Operator, &created, &refunded, &st.RefundedBy); err != nil {
		return Settlement{}, err
	}
	sp = Split{Total: money.Fen(total), SelfPayC: money.Fen(c), FirstSelfPayB: money.Fen(b), Eligible: money.Fen(el), Deductible: money.Fen(ded),
		Ratio: money.Rate(ratio), Pool: money.Fen(pool), Account: money.Fen(acct), Cash: money.Fen(cash), CapLeft: money.Fen(capLeft)}
	sp.Personal = sp.Total - sp.Pool
	st.ID, st.Split, st.AccountBalance = settlementID(st.Region, seq), sp, money.Fen(bal)
	st.IDNumber, st.Means = ident.IDNumber(idn), card.Means(means)
	st.Date, _ = time.Parse("2006-01-02", on)
	st.CreatedAt, _ = db.ParseTime(created)
	if refunded != "" {
		st.RefundedAt, _ = db.ParseTime(refunded)
	}
	return st, nil
}

func loadSettlement(ctx context.Context, r db.Reader, region string, seq int64) (Settlement, error) {
	st, err := scanSettlement(r.QueryRowContext(ctx, "SELECT "+settlementColumns+settlementFrom+"WHERE s.region = $1 AND s.seq = $2", region, seq))
	if errors.Is(err, sql.ErrNoRows) {
		return Settlement{}, errs.E(errs.NotFound, "no settlement %s", settlementID(region, seq))
	}
	if err != nil {
		return Settlement{}, err
	}
	err = db.EachRow(ctx, r, func(scan func(...any) error) error {
		var it Item
		var cat string
		var amt int64
		if err := scan(&it.Code, &it.Name, &cat, &amt); err != nil {
			return err
		}
		it.Category, it.Amount = Category(cat), money.Fen(amt)
		st.Items = append(st.Items, it)
		return nil
	}, "SELECT code, name, category, amount FROM settlement_items WHERE region = $1 AND seq = $2 ORDER BY line", region, seq)
	return st, err
}

// Get returns one settlement as the principal may see it: its institution's operators, the bureau
// in its regions, the person themselves.
func (s *Service) Get(ctx context.Context, by *auth.Principal, id string) (Settlement, error) {
	region, seq, err := ParseID(id)
	if err != nil {
		return Settlement{}, err
	}
	if !by.Can(auth.ReadSettlements) && !by.Can(auth.OwnMedical) {
		return Settlement{}, errs.E(errs.Forbidden, "your role may not do this")
	}
	st, err := loadSettlement(ctx, s.db.R(), region, seq)
	if err != nil {
		return Settlement{}, err
	}
	if !mayRead(by, st) {
		return Settlement{}, errs.E(errs.NotFound, "no settlement %s", id)
	}
	return st, nil
}

func mayRead(by *auth.Principal, st Settlement) bool {
	switch {
	case by.Role == auth.Resident:
		return by.PersonID == st.PersonID
	case by.Role == auth.Institution:
		return by.InstitutionCode == st.Institution
	default:
		return by.InRegion(st.Region)
	}
}

func periodDate(s string) (time.Time, error) {
	d, err := period.ParseDate(s)
	if err != nil {
		return time.Time{}, errs.Field("date", err.Error())
	}
	return d, nil
}
