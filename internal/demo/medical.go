package demo

import (
	"cmp"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/shebao/shebao/internal/apdu"
	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/card"
	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/ident"
	"github.com/shebao/shebao/internal/keys"
	"github.com/shebao/shebao/internal/money"
	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/policy"
	"github.com/shebao/shebao/internal/settle"
)

// Medical settlement in the demo city: three designated institutions, registered by demo-clerk and
// approved by demo-reviewer, of which demo-institution operates the hospital; and SettledMonths of
// settlements made through settle.Service.Settle as the institutions' systems make them — with the
// bank's medical insurance cards, the electronic card's QR codes and the social security card's
// cryptogram (software cards personalised in memory from the development keystore) — one refund,
// a day's reconciliation that disagrees and one that agrees, and the oldest month cleared.
//
// Load registers the institutions (a few writes: the demo must answer in seconds); MedicalHistory
// makes the settlements, in the background after the contribution history, since a settlement
// pays from the personal account that history credits.

// The demo's designated institutions. demo-institution operates DemoHospital.
const (
	DemoHospital = "H33010000001"
	DemoClinic   = "H33010000002"
	DemoPharmacy = "P33010000003"
)

var institutions = []settle.NewInstitution{
	{Code: DemoHospital, Name: "示范市第一人民医院", Kind: settle.Hospital, Level: 3, BankAccount: "33050161622700000001"},
	{Code: DemoClinic, Name: "文新街道社区卫生服务中心", Kind: settle.Hospital, Level: 1, BankAccount: "33050161622700000002"},
	{Code: DemoPharmacy, Name: "钱江大药房（文三路店）", Kind: settle.Pharmacy, BankAccount: "33050161622700000003"},
}

// SettledMonths is how many months of settlements the demo city holds once MedicalHistory has
// run: this month and the five before it. The oldest is cleared.
const SettledMonths = 6

// How many settlements a month the demo makes with the bank's medical insurance cards, and how
// many persons hold one.
const (
	medicalCardBills   = 100
	medicalCardHolders = 150
)

// DemoPIN is the PIN of the demo's active social security cards (the one demo-clerk activated them
// with), which their software cards carry.
const DemoPIN = "482916"

// medicalSetup gives the city what settlement needs before the server answers, on a new demo
// database and on one built before settlement existed: a policy in force with the medical section,
// the three institutions registered and approved, and demo-institution acting for the hospital.
// It writes nothing when all of that is in place.
func (c City) medicalSetup(ctx context.Context) error {
	if c.Settle == nil {
		return nil
	}
	if err := c.medicalPolicy(ctx); err != nil {
		return fmt.Errorf("demo: medical policy: %w", err)
	}
	clerk, err := c.principal(ctx, username(auth.Clerk))
	if err != nil {
		return err
	}
	reviewer, err := c.principal(ctx, username(auth.Reviewer))
	if err != nil {
		return err
	}
	for _, in := range institutions {
		got, err := c.Settle.Institution(ctx, clerk, in.Code)
		if errs.Is(err, errs.NotFound) {
			got, err = c.Settle.RegisterInstitution(ctx, clerk, in)
		}
		if err != nil {
			return fmt.Errorf("demo: institution %s: %w", in.Code, err)
		}
		if got.Status == settle.Pending {
			if _, err := c.Settle.ApproveInstitution(ctx, reviewer, in.Code); err != nil {
				return fmt.Errorf("demo: approve institution %s: %w", in.Code, err)
			}
		}
	}
	// A demo database made before logins carried an institution has demo-institution without one;
	// a new one made it with the hospital's code already (see user).
	op, err := c.principal(ctx, username(auth.Institution))
	if err != nil {
		return err
	}
	if op.InstitutionCode == "" {
		if err := c.Auth.LinkInstitution(ctx, audit.System, op.Username, DemoHospital); err != nil {
			return fmt.Errorf("demo: link %s to %s: %w", op.Username, DemoHospital, err)
		}
	}
	return nil
}

// medicalPolicy makes sure every policy version in force in the months the demo settles has the
// medical section: a version written before settlement existed gets a successor of the same
// effective month, the same in every other part, with policy.Default's medical rules.
func (c City) medicalPolicy(ctx context.Context) error {
	thisMonth := period.MonthOf(c.Now())
	done := map[int64]bool{}
	for m := thisMonth.Add(-(SettledMonths - 1)); m <= thisMonth; m = m.Add(1) {
		v, err := c.Policies.Effective(ctx, c.DB.R(), Region, m)
		if err != nil {
			return err
		}
		if _, ok := v.Policy.Medical(); ok || done[v.ID] {
			continue
		}
		def, _, err := policy.Default(Region, m)
		if err != nil {
			return err
		}
		p := *v.Policy
		p.MedicalRules = def.MedicalRules
		if _, err := c.Policies.Install(ctx, audit.Actor{Name: username(auth.Admin), Role: string(auth.Admin)}, &p); err != nil {
			return err
		}
		done[v.ID] = true
	}
	return nil
}

// principal is a demo login as the services see it.
func (c City) principal(ctx context.Context, name string) (*auth.Principal, error) {
	u, err := c.Auth.UserByName(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("demo: user %s: %w", name, err)
	}
	return &auth.Principal{User: u}, nil
}

// MedicalHistory makes the demo's settlements, refund, reconciliations and clearing. serve --demo
// runs it in the background after History; like History it resumes where it stopped: every
// settlement has its own idempotency key and is skipped when made already.
func MedicalHistory(ctx context.Context, c City) error {
	if c.Settle == nil || c.Keys == nil || c.Cards == nil {
		return nil
	}
	m, err := c.newMedical(ctx)
	if err != nil {
		return fmt.Errorf("demo medical: %w", err)
	}
	thisMonth := period.MonthOf(c.Now())
	for month := thisMonth.Add(-(SettledMonths - 1)); month <= thisMonth; month = month.Add(1) {
		if err := m.settleMonth(ctx, month); err != nil {
			return fmt.Errorf("demo medical: %s: %w", month, err)
		}
	}
	if err := m.refund(ctx); err != nil {
		return fmt.Errorf("demo medical: refund: %w", err)
	}
	if err := m.reconcile(ctx, thisMonth.Add(-1)); err != nil {
		return fmt.Errorf("demo medical: reconciliation: %w", err)
	}
	if err := m.clear(ctx, thisMonth.Add(-(SettledMonths - 1))); err != nil {
		return fmt.Errorf("demo medical: clearing: %w", err)
	}
	return nil
}

// medical is MedicalHistory's working state.
type medical struct {
	City
	rng             *mrand.Rand
	clerk, reviewer *auth.Principal
	ops             map[string]*auth.Principal // institution code → who settles for it
	resident        payer
	insured         []payer // holders of a medical insurance card
	cardholders     []payer // holders of an active social security card with an electronic card
	refundKey       string  // the settlement MedicalHistory refunds: the resident's at the hospital last month
	firstMonth      period.Month
}

// payer is an insured person and the cards they pay with.
type payer struct {
	personID    int64
	idNumber    ident.IDNumber
	startMonth  period.Month // of their medical insurance
	medicalCard string       // the bank's card's number, "" = none
	chip        *apdu.SoftCard
	self        *auth.Principal // as a resident, for their electronic card's QR codes
}

func (c City) newMedical(ctx context.Context) (*medical, error) {
	thisMonth := period.MonthOf(c.Now())
	m := &medical{City: c, rng: mrand.New(mrand.NewPCG(2026, 12)), ops: map[string]*auth.Principal{}, firstMonth: thisMonth.Add(-(SettledMonths - 1))}
	var err error
	if m.clerk, err = c.principal(ctx, username(auth.Clerk)); err != nil {
		return nil, err
	}
	if m.reviewer, err = c.principal(ctx, username(auth.Reviewer)); err != nil {
		return nil, err
	}
	hospital, err := c.principal(ctx, username(auth.Institution))
	if err != nil {
		return nil, err
	}
	if hospital.InstitutionCode != DemoHospital {
		return nil, fmt.Errorf("%s does not act for %s (Load links it)", hospital.Username, DemoHospital)
	}
	m.ops[DemoHospital] = hospital
	// The clinic and the pharmacy have no demo login; their systems act through a principal of the
	// loader, which the audit log and each settlement's operator name.
	for _, code := range []string{DemoClinic, DemoPharmacy} {
		m.ops[code] = &auth.Principal{User: auth.User{Username: "demo-loader", Role: auth.Institution, Roles: []auth.Role{auth.Institution},
			Regions: []string{Region}, InstitutionCode: code}}
	}
	bank, err := c.principal(ctx, username(auth.Bank))
	if err != nil {
		return nil, err
	}

	// The demo resident, and a hundred and fifty others insured since before the first month, hold
	// the bank's medical insurance card.
	res, err := c.principal(ctx, username(auth.Resident))
	if err != nil {
		return nil, err
	}
	people, err := m.insuredSince(ctx, m.firstMonth)
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(people, func(p payer) bool { return p.personID == res.PersonID })
	if i < 0 {
		return nil, fmt.Errorf("the demo resident is not insured since %s", m.firstMonth)
	}
	m.resident = people[i]
	people = slices.Delete(people, i, i+1)
	// The holders are drawn at random once; a later start (whose first month is later, so that more
	// persons qualify) finds them by their cards and keeps them.
	m.rng.Shuffle(len(people), func(i, j int) { people[i], people[j] = people[j], people[i] })
	holding, err := m.cardHolders(ctx, bank.Username)
	if err != nil {
		return nil, err
	}
	slices.SortStableFunc(people, func(a, b payer) int { return -cmp.Compare(b2i(holding[a.personID]), b2i(holding[b.personID])) })
	m.insured = people[:min(medicalCardHolders, len(people))]
	for i := range m.insured {
		if m.insured[i].medicalCard, err = m.medicalCard(ctx, bank, m.insured[i]); err != nil {
			return nil, err
		}
	}
	if m.resident.medicalCard, err = m.medicalCard(ctx, bank, m.resident); err != nil {
		return nil, err
	}
	m.refundKey = billKey(thisMonth.Add(-1), 0)

	// Everyone with an active social security card (but the demo resident, whose card waits at the
	// outlet for the visitor to activate) pays with it and with its electronic card.
	active, err := c.Cards.List(ctx, m.clerk, card.Active, 100)
	if err != nil {
		return nil, err
	}
	slices.SortFunc(active, func(a, b card.Card) int { return cmp.Compare(a.ID, b.ID) })
	insuredSince := map[int64]period.Month{}
	for _, p := range append(slices.Clone(people), m.resident) {
		insuredSince[p.personID] = p.startMonth
	}
	for _, cd := range active {
		start, ok := insuredSince[cd.PersonID]
		if cd.Kind != card.SocialSecurity || cd.PersonID == res.PersonID || !ok || cd.CardID == "" {
			continue
		}
		p := payer{personID: cd.PersonID, idNumber: cd.IDNumber, startMonth: start,
			self: &auth.Principal{User: auth.User{Username: "demo-loader", Role: auth.Resident, Roles: []auth.Role{auth.Resident}, Regions: []string{Region}, PersonID: cd.PersonID}}}
		if _, err := c.Cards.SignUpECard(ctx, p.self); err != nil {
			return nil, fmt.Errorf("e-card of card %d: %w", cd.ID, err)
		}
		if p.chip, err = m.softCard(ctx, cd); err != nil {
			return nil, fmt.Errorf("software card of card %d: %w", cd.ID, err)
		}
		m.cardholders = append(m.cardholders, p)
	}
	return m, nil
}

// insuredSince lists the persons of the region medically insured from month or earlier and still
// insured, by person id.
func (m *medical) insuredSince(ctx context.Context, month period.Month) ([]payer, error) {
	rows, err := m.DB.R().QueryContext(ctx, `SELECT p.id, p.id_number, MIN(t.start_month) FROM participations t JOIN persons p ON p.id = t.person_id
		WHERE t.region = $1 AND t.insurance = $2 AND t.start_month <= $3 AND t.end_month = 0 GROUP BY p.id, p.id_number ORDER BY p.id`,
		Region, string(policy.Medical), int(month))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []payer
	for rows.Next() {
		var p payer
		var idn string
		var start int
		if err := rows.Scan(&p.personID, &idn, &start); err != nil {
			return nil, err
		}
		p.idNumber, p.startMonth = ident.IDNumber(idn), period.Month(start)
		out = append(out, p)
	}
	return out, rows.Err()
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// cardHolders are the persons holding a medical insurance card in use that bank issued.
func (m *medical) cardHolders(ctx context.Context, bank string) (map[int64]bool, error) {
	rows, err := m.DB.R().QueryContext(ctx, "SELECT person_id FROM medical_cards WHERE region = $1 AND bank = $2 AND state IN ('issued', 'active')", Region, bank)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[int64]bool{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out[id] = true
	}
	return out, rows.Err()
}

// medicalCard is the person's active medical insurance card, which demo-bank issues (numbered
// after the person, so no two are alike) and activates when they have none.
func (m *medical) medicalCard(ctx context.Context, bank *auth.Principal, p payer) (string, error) {
	var number, state string
	err := m.DB.R().QueryRowContext(ctx, "SELECT card_number, state FROM medical_cards WHERE person_id = $1 AND state IN ('issued', 'active') ORDER BY id DESC LIMIT 1",
		p.personID).Scan(&number, &state)
	if errors.Is(err, sql.ErrNoRows) {
		mc, ierr := m.Cards.IssueMedical(ctx, bank, string(p.idNumber), fmt.Sprintf("62148370%08d", p.personID))
		number, state, err = mc.CardNumber, string(mc.State), ierr
	}
	if err != nil {
		return "", fmt.Errorf("medical card of person %d: %w", p.personID, err)
	}
	if state == string(card.MedIssued) {
		if _, err := m.Cards.ChangeMedical(ctx, bank, number, "activate"); err != nil {
			return "", fmt.Errorf("activating medical card %s: %w", number, err)
		}
	}
	return number, nil
}

// softCard personalises the chip of a card record in memory, as `shebao card sim issue` writes it
// to a file. A chip keeps its transaction counter; this one is made again at every start, so it is
// first brought to the counter the key service last accepted from the card, as if it had made the
// earlier payments again.
func (m *medical) softCard(ctx context.Context, cd card.Card) (*apdu.SoftCard, error) {
	id, err := apdu.ParseCardID(cd.CardID)
	if err != nil {
		return nil, err
	}
	var serial [4]byte
	if b, err := hex.DecodeString(cd.ChipSerial); err == nil && len(b) == 4 {
		copy(serial[:], b)
	}
	gender := byte('1')
	if cd.IDNumber.Gender() == ident.Female {
		gender = '2'
	}
	chip, err := m.Keys.Personalise(ctx, keys.CardSpec{CardNumber: cd.CardNumber, CardID: id, ChipSerial: serial, IssueDate: cd.StateAt,
		ExpiryDate: cd.ValidUntil, PIN: DemoPIN, Holder: apdu.HolderData{IDNumber: string(cd.IDNumber), Name: cd.Name, Gender: gender, Ethnicity: 1,
			BirthDate: cd.IDNumber.BirthDate()}})
	if err != nil {
		return nil, err
	}
	var last int
	err = m.DB.R().QueryRowContext(ctx, "SELECT last_atc FROM card_transaction_counters WHERE region = $1 AND card_id = $2", cd.Region, cd.CardID).Scan(&last)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	term := &apdu.Terminal{Card: chip}
	for range last {
		if _, err := term.Pay(ctx, DemoPIN, apdu.TransactionData{Amount: 1, Date: period.Today(m.Now()), Institution: DemoHospital}); err != nil {
			return nil, err
		}
	}
	return chip, nil
}

// bill is one planned settlement.
type bill struct {
	key         string
	institution string
	kind        string
	date        time.Time
	payer       *payer
	means       card.Means
	useAccount  bool
	items       []settle.ItemIn
}

func billKey(m period.Month, n int) string { return fmt.Sprintf("DEMO-%s-%03d", m, n) }

// settleMonth plans a month's settlements from the seeded source and makes those not made yet,
// each day's on that day: the services run on a clock at the day's afternoon (db.At; now, for
// today), so a settlement, its ledger entry and the personal account's movement carry the day
// the patient was at the counter, and the electronic card's code is issued and spent that day.
func (m *medical) settleMonth(ctx context.Context, month period.Month) error {
	now := m.Now()
	thisMonth := period.MonthOf(now)
	last := period.Today(month.Add(1).First().Add(-time.Hour))
	if month == thisMonth {
		last = period.Today(now)
	}
	bills := m.plan(month, last)
	var svc *settle.Service
	var cards *card.Service
	var day time.Time
	defer func() {
		if svc != nil {
			svc.Close()
		}
	}()
	for _, b := range bills {
		if svc == nil || !b.date.Equal(day) {
			if svc != nil {
				svc.Close()
			}
			day = b.date
			at := m.clockOn(day, 15)
			view := m.DB.At(func() time.Time { return at })
			cards = card.New(view, m.Policies, m.Keys)
			svc = settle.New(view, m.Policies, cards, m.Keys, m.registryAt(at), settle.Options{})
		}
		var n int
		if err := m.DB.R().QueryRowContext(ctx, "SELECT COUNT(*) FROM settlements WHERE region = $1 AND institution_code = $2 AND idem_key = $3",
			Region, b.institution, b.key).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			continue
		}
		use := b.useAccount
		r := settle.Request{IdemKey: b.key, Kind: b.kind, Date: b.date.Format("2006-01-02"), UseAccount: &use, Items: b.items}
		switch b.means {
		case card.ByMedicalCard:
			r.Identity.MedicalCard = b.payer.medicalCard
		case card.ByECard:
			qr, _, err := cards.QR(ctx, b.payer.self)
			if err != nil {
				return fmt.Errorf("%s: QR code: %w", b.key, err)
			}
			r.Identity.ECardQR = qr
		case card.BySocialSecurityCard:
			proof, err := cardProof(ctx, b.payer.chip, b.institution, r)
			if err != nil {
				return fmt.Errorf("%s: card: %w", b.key, err)
			}
			r.Identity.Card = proof
		}
		if _, err := svc.Settle(ctx, m.ops[b.institution], r); err != nil {
			return fmt.Errorf("settlement %s at %s: %w", b.key, b.institution, err)
		}
	}
	return nil
}

// cardProof is what the counter's terminal does with the social security card: the holder enters
// the PIN and the card signs the bill.
func cardProof(ctx context.Context, chip *apdu.SoftCard, institution string, r settle.Request) (*settle.CardProof, error) {
	var un [4]byte
	if _, err := rand.Read(un[:]); err != nil {
		return nil, err
	}
	data, err := settle.CardData(institution, r, un)
	if err != nil {
		return nil, err
	}
	pay, err := (&apdu.Terminal{Card: chip}).Pay(ctx, DemoPIN, data)
	if err != nil {
		return nil, err
	}
	return &settle.CardProof{CardID: apdu.FormatCardID(pay.CardID), KeyVersion: int(pay.KeyVersion), ATC: int(pay.ATC),
		Unpredictable: strings.ToUpper(hex.EncodeToString(un[:])), Cryptogram: strings.ToUpper(hex.EncodeToString(pay.Cryptogram[:]))}, nil
}

// plan is a month's bills, in date order: the demo resident's two (a hospital visit and the
// pharmacy), each cardholder's two (one with the electronic card, one with the chip), and
// medicalCardBills of the bank's card holders, spread over the month's days up to last. Only
// persons insured in the month are planned, and no medical card goes over the policy's limits.
func (m *medical) plan(month period.Month, last time.Time) []bill {
	rng := mrand.New(mrand.NewPCG(2026, uint64(month)))
	day := func() time.Time {
		return time.Date(last.Year(), last.Month(), 1+rng.IntN(last.Day()), 0, 0, 0, 0, time.UTC)
	}
	var bills []bill
	add := func(b bill) {
		b.key = billKey(month, len(bills))
		bills = append(bills, b)
	}
	// A medical card's totals of a day, kept under policy.Default's limits: at most 480.00 a bill,
	// and a bill only on a day with that much room left of the 1,000.00 a day.
	cardDay := map[string]money.Fen{}
	medicalCardBill := func(p *payer, institution, kind string) bool {
		d := day()
		k := p.medicalCard + d.Format("20060102")
		if cardDay[k] > 1000_00-480_00 {
			return false
		}
		items := billItems(rng, kind, 480_00)
		cardDay[k] += itemsTotal(items)
		add(bill{institution: institution, kind: kind, date: d, payer: p, means: card.ByMedicalCard, useAccount: rng.IntN(20) != 0, items: items})
		return true
	}
	// The resident's first bill of the month is at the hospital: last month's is the one refunded.
	medicalCardBill(&m.resident, DemoHospital, policy.Outpatient)
	medicalCardBill(&m.resident, DemoPharmacy, policy.Pharmacy)
	for i := range m.cardholders {
		p := &m.cardholders[i]
		if p.startMonth > month {
			continue
		}
		inst, kind, limit := DemoClinic, policy.Outpatient, money.Fen(800_00)
		switch rng.IntN(3) {
		case 1:
			inst, kind = DemoPharmacy, policy.Pharmacy
		case 2:
			kind, limit = policy.Inpatient, 8000_00 // the community clinic's few beds
		}
		add(bill{institution: inst, kind: kind, date: day(), payer: p, means: card.ByECard, useAccount: true, items: billItems(rng, kind, limit)})
		kind = policy.Outpatient
		if (i+int(month))%3 == 0 {
			kind = policy.Inpatient
		}
		add(bill{institution: DemoHospital, kind: kind, date: day(), payer: p, means: card.BySocialSecurityCard, useAccount: true,
			items: billItems(rng, kind, 60_000_00)})
	}
	for range medicalCardBills {
		inst, kind := DemoHospital, policy.Outpatient
		switch r := rng.IntN(10); {
		case r >= 7:
			inst, kind = DemoPharmacy, policy.Pharmacy
		case r >= 4:
			inst = DemoClinic
		}
		// Another holder when this one's card has no room left that day (a few tries: a month of
		// one day, on the 1st, fills cards fastest).
		for range 10 {
			if medicalCardBill(&m.insured[rng.IntN(len(m.insured))], inst, kind) {
				break
			}
		}
	}
	slices.SortStableFunc(bills, func(a, b bill) int { return a.date.Compare(b.date) })
	return bills
}

// catalogItem is a line a bill may carry, with the range of its amount in yuan.
type catalogItem struct {
	code, name, category string
	lo, hi               int
}

// The demo's item catalogue: common outpatient services and drugs, a pharmacy's shelf, and an
// admission's lines, each in the category (甲 A, 乙 B, 丙 C) the national list gives it.
var (
	outpatientItems = []catalogItem{
		{"110200001", "普通门诊诊查费", "A", 10, 40},
		{"250101015", "血细胞分析", "A", 20, 35},
		{"250305007", "C反应蛋白测定", "A", 25, 50},
		{"210102015", "胸部X线摄影", "A", 60, 120},
		{"XJ01CAA040A001010100134", "阿莫西林胶囊", "A", 8, 35},
		{"XM01AEB081A012010101561", "布洛芬缓释胶囊", "B", 12, 30},
		{"XJ01DDK113A005010100089", "头孢克肟分散片", "B", 25, 68},
		{"ZA01BAL0145010100287", "连花清瘟胶囊", "B", 18, 36},
		{"XC10AAA128A001010101458", "阿托伐他汀钙片", "B", 30, 90},
		{"110200005", "特需门诊诊查费", "C", 100, 300},
		{"C14060000001", "医用护腰带", "C", 30, 120},
	}
	pharmacyItems = []catalogItem{
		{"XJ01CAA040A001010100134", "阿莫西林胶囊", "A", 8, 35},
		{"XR05DAF054A001010100772", "复方甘草片", "A", 5, 15},
		{"XA07BCM186B001010101030", "蒙脱石散", "A", 10, 25},
		{"XC08CAX091A010010100363", "硝苯地平控释片", "A", 20, 45},
		{"XA10BAE159A010010101118", "二甲双胍缓释片", "A", 15, 40},
		{"XR06AXL132A001010100925", "氯雷他定片", "B", 12, 30},
		{"XC10AAA128A001010101458", "阿托伐他汀钙片", "B", 30, 90},
		{"C00000000101", "维生素C咀嚼片", "C", 15, 40},
		{"C14010000007", "医用防护口罩", "C", 10, 30},
	}
	inpatientItems = []catalogItem{
		{"110900001", "床位费", "A", 300, 900},
		{"120100002", "二级护理", "A", 200, 600},
		{"250000000", "住院检验费", "A", 300, 1500},
		{"330100001", "全身麻醉", "A", 800, 2000},
		{"331000000", "手术费", "B", 1500, 8000},
		{"XJ01DDA063B002010100238", "注射用头孢曲松钠", "B", 200, 1500},
		{"C03110000021", "进口吻合器", "C", 2000, 6000},
	}
)

// billItems draws two to five lines of a kind's catalogue whose total stays within limit.
func billItems(rng *mrand.Rand, kind string, limit money.Fen) []settle.ItemIn {
	catalog := outpatientItems
	switch kind {
	case policy.Pharmacy:
		catalog = pharmacyItems
	case policy.Inpatient:
		catalog = inpatientItems
	}
	var out []settle.ItemIn
	var total money.Fen
	for _, k := range rng.Perm(len(catalog))[:2+rng.IntN(4)] {
		it := catalog[k]
		amt := money.Fen(it.lo*100 + rng.IntN((it.hi-it.lo)*100+1))
		if total+amt > limit {
			continue
		}
		total += amt
		out = append(out, settle.ItemIn{Code: it.code, Name: it.name, Category: it.category, Amount: amt.String()})
	}
	if len(out) == 0 { // the first line of the cheapest kind always fits the limits the demo uses
		out = append(out, settle.ItemIn{Code: catalog[0].code, Name: catalog[0].name, Category: catalog[0].category, Amount: money.Fen(catalog[0].lo * 100).String()})
	}
	return out
}

func itemsTotal(items []settle.ItemIn) money.Fen {
	var t money.Fen
	for _, it := range items {
		a, _ := money.ParseYuan(it.Amount)
		t += a
	}
	return t
}

// settlementID is the public id of the settlement an institution made with key ("" if none).
func (m *medical) settlementID(ctx context.Context, institution, key string) (string, error) {
	var seq int64
	err := m.DB.R().QueryRowContext(ctx, "SELECT seq FROM settlements WHERE region = $1 AND institution_code = $2 AND idem_key = $3", Region, institution, key).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	// The public id is the region and the region's number (settle.ParseID).
	return fmt.Sprintf("%s%010d", Region, seq), err
}

// refund reverses the resident's hospital visit of last month, as the hospital does when a bill
// was settled wrongly. It is done once in a demo database: a start in a later month, whose last
// month is another, finds it done.
func (m *medical) refund(ctx context.Context) error {
	var done int
	if err := m.DB.R().QueryRowContext(ctx, "SELECT COUNT(*) FROM settlements WHERE region = $1 AND refund_key = $2", Region, demoRefundKey).Scan(&done); err != nil || done > 0 {
		return err
	}
	id, err := m.settlementID(ctx, DemoHospital, m.refundKey)
	if err != nil || id == "" {
		return cmp.Or(err, fmt.Errorf("no settlement %s to refund", m.refundKey))
	}
	_, err = m.Settle.Refund(ctx, m.ops[DemoHospital], id, demoRefundKey)
	return err
}

const demoRefundKey = "DEMO-REFUND-1"

// reconcile sends two institutions' totals of their busiest day of month: the hospital's system
// missed the day's last two settlements, so the bureau's record disagrees and names them; the
// clinic's agrees. An institution that has reconciled any day is left as it is.
func (m *medical) reconcile(ctx context.Context, month period.Month) error {
	for _, r := range []struct {
		code   string
		missed int
	}{{DemoHospital, 2}, {DemoClinic, 0}} {
		var done int
		if err := m.DB.R().QueryRowContext(ctx, "SELECT COUNT(*) FROM reconciliations WHERE region = $1 AND institution_code = $2", Region, r.code).Scan(&done); err != nil {
			return err
		}
		if done > 0 {
			continue
		}
		var day string
		err := m.DB.R().QueryRowContext(ctx, `SELECT settled_on FROM settlements WHERE region = $1 AND institution_code = $2 AND settled_on >= $3 AND settled_on < $4
			AND refunded_at = '' GROUP BY settled_on ORDER BY COUNT(*) DESC, settled_on LIMIT 1`,
			Region, r.code, month.First().Format("2006-01-02"), month.Add(1).First().Format("2006-01-02")).Scan(&day)
		if err != nil {
			return fmt.Errorf("%s: the busiest day of %s: %w", r.code, month, err)
		}
		date, _ := period.ParseDate(day)
		d, err := m.Settle.DayOf(ctx, m.ops[r.code], r.code, date)
		if err != nil {
			return err
		}
		var kept []settle.Settlement
		for _, st := range d.Settlements {
			if !st.Refunded() {
				kept = append(kept, st)
			}
		}
		if len(kept) <= r.missed {
			return fmt.Errorf("%s: %d settlements on %s; too few to miss %d", r.code, len(kept), day, r.missed)
		}
		theirs := settle.Totals{}
		lines := []settle.TheirLine{}
		for _, st := range kept[:len(kept)-r.missed] {
			theirs.Count++
			theirs.Total += st.Split.Total
			theirs.Pool += st.Split.Pool
			theirs.Account += st.Split.Account
			theirs.Cash += st.Split.Cash
			lines = append(lines, settle.TheirLine{ID: st.ID, Total: st.Split.Total})
		}
		rec, err := m.Settle.Reconcile(ctx, m.ops[r.code], r.code, date, theirs, lines)
		if err != nil {
			return err
		}
		if rec.Agree != (r.missed == 0) {
			return fmt.Errorf("%s on %s: agree = %v with %d settlements missed", r.code, day, rec.Agree, r.missed)
		}
	}
	return nil
}

// clear has demo-clerk prepare and demo-reviewer approve each institution's clearing of month, the
// oldest the demo settled. An institution's first clearing is the demo's: one posted already (by
// an earlier start) is left as it is, later months are left for the visitor to clear, and one a
// start prepared but did not live to approve is approved.
func (m *medical) clear(ctx context.Context, month period.Month) error {
	for _, in := range institutions {
		month := month // this institution's
		var first int
		var status string
		err := m.DB.R().QueryRowContext(ctx, "SELECT month, status FROM clearings WHERE region = $1 AND institution_code = $2 ORDER BY month LIMIT 1",
			Region, in.Code).Scan(&first, &status)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			if _, err := m.Settle.PrepareClearing(ctx, m.clerk, in.Code, month); err != nil {
				return fmt.Errorf("%s: %w", in.Code, err)
			}
		case err != nil:
			return err
		case status == settle.Prepared:
			month = period.Month(first)
		default:
			continue
		}
		if _, err := m.Settle.ApproveClearing(ctx, m.reviewer, in.Code, month); err != nil {
			return fmt.Errorf("%s: %w", in.Code, err)
		}
	}
	return nil
}
