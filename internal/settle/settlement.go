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
	if err := by.Require(auth.Settle); err != nil {
		return Settlement{}, err
	}
	inst, err := s.operated(ctx, by)
	if err != nil {
		return Settlement{}, err
	}
	v, err := s.check(inst, r)
	if err != nil {
		return Settlement{}, err
	}
	out, err := s.do(ctx, func(ctx context.Context, tx *db.Tx) (any, error) {
		return s.settle(ctx, tx, by, inst, r, v)
	})
	if err != nil {
		return Settlement{}, err
	}
	return out.(Settlement), nil
}

// operated is the approved institution an operator acts for.
func (s *Service) operated(ctx context.Context, by *auth.Principal) (Institution, error) {
	if by.InstitutionCode == "" {
		return Institution{}, errs.E(errs.Forbidden, "this login does not act for an institution")
	}
	inst, err := s.institution(ctx, s.db.R(), by, by.InstitutionCode, "")
	if err != nil {
		return Institution{}, err
	}
	if inst.Status != Approved {
		return Institution{}, errs.E(errs.Forbidden, "institution %s is not approved as designated", inst.Code)
	}
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
		return Settlement{}, errs.E(errs.Invalid, "the person is insured in another region; settlement there is not supported yet")
	}
	month := period.MonthOf(v.date.Add(12 * time.Hour)) // a calendar date's month (midnight UTC is 08:00 in Beijing)
	if ok, err := registry.InsuredIn(ctx, tx, holder.PersonID, policy.Medical, month); err != nil {
		return Settlement{}, err
	} else if !ok {
		return Settlement{}, errs.E(errs.Invalid, "the person has no medical insurance in %s", month)
	}
	pv, err := s.policies.Effective(ctx, tx, inst.Region, month)
	if err != nil {
		return Settlement{}, err
	}
	rules, ok := pv.Policy.Medical()
	if !ok {
		return Settlement{}, errs.E(errs.Unavailable, "the region's policy in force has no medical settlement rules")
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
	accountCode := ledger.PersonAccount(inst.Region, ledger.PersonMedical, holder.PersonID)
	balance, err := ledger.Balance(ctx, tx, accountCode)
	if err != nil {
		return Settlement{}, err
	}
	split := Compute(SplitInput{Kind: v.kind, Level: inst.Level, Items: v.items, Rules: rules, Used: used, AccountBalance: balance, UseAccount: v.useAccount})

	if seq, err = nextSeq(ctx, tx, inst.Region); err != nil {
		return Settlement{}, err
	}
	st := Settlement{ID: settlementID(inst.Region, seq), Region: inst.Region, Institution: inst.Code, Kind: v.kind, Date: v.date,
		PersonID: holder.PersonID, Name: holder.Name, IDNumber: holder.IDNumber, Means: holder.Means, CardRef: holder.CardRef,
		UseAccount: v.useAccount, Items: v.items, Split: split, AccountBalance: balance - split.Account, Operator: by.Username,
		CreatedAt: tx.Now.Truncate(time.Microsecond)} // as stored, so a retry answers the same
	// The ledger: the pool's part from the region's medical fund, the account's part from the
	// person's medical account, both owed to the institution until the month's clearing.
	if owed := split.Pool + split.Account; owed > 0 {
		var ps []ledger.Posting
		if split.Pool > 0 {
			ps = append(ps, ledger.Posting{Account: ledger.FundAccount(inst.Region, string(policy.Medical)), Amount: split.Pool})
		}
		if split.Account > 0 {
			ps = append(ps, ledger.Posting{Account: accountCode, Amount: split.Account})
		}
		ps = append(ps, ledger.Posting{Account: ledger.InstitutionAccount(inst.Region, inst.Code), Amount: -owed})
		res, err := ledger.Post(ctx, tx, ledger.Entry{IdemKey: "settlement:" + st.ID, Region: inst.Region, Cause: causeSettlement,
			CauseRef: "settlement:" + st.ID, Postings: ps})
		if err != nil {
			return Settlement{}, err
		}
		st.EntryID = res.EntryID
	}
	if err := insertSettlement(ctx, tx, st, key, v.hash); err != nil {
		return Settlement{}, err
	}
	if err := addUsed(ctx, tx, inst.Region, holder.PersonID, v.year, split.counted(v.kind), 1); err != nil {
		return Settlement{}, err
	}
	if err := audit.Record(ctx, tx, by.Actor(), "settlement.settle", "settlement:"+st.ID, inst.Region, map[string]any{
		"institution": inst.Code, "kind": v.kind, "total": split.Total.String(), "pool": split.Pool.String(), "account": split.Account.String(),
		"means": holder.Means}); err != nil {
		return Settlement{}, err
	}
	return st, nil
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
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(SUM(total), 0) FROM settlements WHERE region = $1 AND card_ref = $2 AND settled_on = $3
		AND means = $4 AND refunded_at = ''`, region, number, v.date.Format("2006-01-02"), string(card.ByMedicalCard)).Scan(&today); err != nil {
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

// nextSeq takes the region's next settlement number.
func nextSeq(ctx context.Context, tx *db.Tx, region string) (int64, error) {
	var seq int64
	err := tx.QueryRowContext(ctx, "UPDATE settlement_sequence SET last = last + 1 WHERE region = $1 RETURNING last", region).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		if _, err := tx.ExecContext(ctx, "INSERT INTO settlement_sequence(region, last) VALUES($1, 1)", region); err != nil {
			return 0, err
		}
		return 1, nil
	}
	return seq, err
}

func insertSettlement(ctx context.Context, tx *db.Tx, st Settlement, key, hash string) error {
	region, seq, _ := ParseID(st.ID)
	sp := st.Split
	if _, err := tx.ExecContext(ctx, `INSERT INTO settlements(region, seq, institution_code, idem_key, request_hash, kind, settled_on, year, person_id,
		means, card_ref, use_account, total, self_pay_c, first_self_pay_b, eligible, deductible, ratio, pool, account, cash, cap_left, account_balance,
		entry_id, operator, created_at) VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26)`,
		region, seq, st.Institution, key, hash, st.Kind, st.Date.Format("2006-01-02"), st.Date.Year(), st.PersonID,
		string(st.Means), st.CardRef, st.UseAccount, int64(sp.Total), int64(sp.SelfPayC), int64(sp.FirstSelfPayB), int64(sp.Eligible),
		int64(sp.Deductible), int64(sp.Ratio), int64(sp.Pool), int64(sp.Account), int64(sp.Cash), int64(sp.CapLeft), int64(st.AccountBalance),
		nullID(st.EntryID), st.Operator, db.FormatTime(st.CreatedAt)); err != nil {
		return fmt.Errorf("settle: write settlement: %w", err)
	}
	items := tx.Inserter("settlement_items", "region", "seq", "line", "code", "name", "category", "amount")
	for i, it := range st.Items {
		if err := items.Add(ctx, region, seq, i+1, it.Code, it.Name, string(it.Category), int64(it.Amount)); err != nil {
			return fmt.Errorf("settle: write items: %w", err)
		}
	}
	return items.Close(ctx)
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
