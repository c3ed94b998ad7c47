// Package policy holds the rules a region or a new law may change, as data: versioned per pooling
// region and effective month, proposed by an admin, approved by a reviewer other than the proposer,
// and never edited in place. Capabilities ask for the policy in force for a region and month and
// never hard-code what is here.
//
// A policy version has one documented JSON form (docs/policy.md), accepted by the API and by
// `shebao policy import`. Parse is strict: an unknown field is an error, so a misspelt rule is
// never silently ignored.
//
// This package must never apply a policy itself: it stores, validates and looks up.
package policy

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/money"
	"github.com/shebao/shebao/internal/period"
)

// Insurance is one of the five social insurance types.
type Insurance string

const (
	Pension      Insurance = "pension"
	Medical      Insurance = "medical"
	Unemployment Insurance = "unemployment"
	WorkInjury   Insurance = "work_injury"
	Maternity    Insurance = "maternity"
)

// Insurances lists every type in display order.
var Insurances = []Insurance{Pension, Medical, Unemployment, WorkInjury, Maternity}

// When says in which case a material is required.
type When string

const (
	Always        When = "always"
	LocalHukou    When = "local_hukou"     // the person's household registration is in this region
	NonLocalHukou When = "non_local_hukou" // it is elsewhere: a residence permit stands in
)

// Material is one document of a checklist.
type Material struct {
	Code   string `json:"code"`
	NameZH string `json:"name_zh"`
	NameEN string `json:"name_en"`
	When   When   `json:"when"`
	NoteZH string `json:"note_zh,omitempty"`
	NoteEN string `json:"note_en,omitempty"`
}

// InsuredBy says who enrols and pays.
type InsuredBy string

const (
	ByEmployer InsuredBy = "employer"
	BySelf     InsuredBy = "self"
)

// Category is an enrolment category with its insurance types and required materials.
type Category struct {
	Code       string      `json:"code"`
	NameZH     string      `json:"name_zh"`
	NameEN     string      `json:"name_en"`
	InsuredBy  InsuredBy   `json:"insured_by"`
	Insurances []Insurance `json:"insurances"`
	Materials  []Material  `json:"materials"`
}

// Business is an entry of the public service guide: a procedure and what to bring.
type Business struct {
	Code      string     `json:"code"`
	NameZH    string     `json:"name_zh"`
	NameEN    string     `json:"name_en"`
	StepsZH   []string   `json:"steps_zh"`
	StepsEN   []string   `json:"steps_en"`
	Materials []Material `json:"materials"`
	NotesZH   []string   `json:"notes_zh,omitempty"`
	NotesEN   []string   `json:"notes_en,omitempty"`
}

// Policy is one version of a region's rules.
type Policy struct {
	Region        string        `json:"region"`
	EffectiveFrom string        `json:"effective_from"` // YYYYMM
	Name          string        `json:"name"`
	Categories    []Category    `json:"enrolment_categories"`
	Businesses    []Business    `json:"businesses"`
	Upload        UploadLimits  `json:"uploads"`
	Keys          KeyRules      `json:"keys"`
	Cards         CardRules     `json:"cards"`
	Contributions Contributions `json:"contributions"`
	// MedicalRules are the medical settlement parameters; nil in versions written before
	// settlement existed, which cannot settle.
	MedicalRules *MedicalRules `json:"medical,omitempty"`
	// BenefitRules are unemployment benefit and pension eligibility; nil in versions written
	// before benefits existed, which pay none.
	BenefitRules *BenefitRules `json:"benefits,omitempty"`
	// Bureau is the name of the region's social insurance bureau, as its certificates are issued
	// in; nil in versions written before certificates existed.
	Bureau *Bureau `json:"bureau,omitempty"`
}

// Bureau names the bureau that issues a region's documents.
type Bureau struct {
	NameZH string `json:"name_zh"`
	NameEN string `json:"name_en"`
}

// BureauName is the bureau's name in both languages; a policy without one names the region.
func (p *Policy) BureauName() (zh, en string) {
	if p.Bureau != nil {
		return p.Bureau.NameZH, p.Bureau.NameEN
	}
	return p.Region + " 社会保险经办机构", "Social insurance agency " + p.Region
}

// Contributions are the region's contribution parameters (SPEC 3.2). Amounts are yuan and rates
// percentages, written as strings so that no JSON reader turns them into floating point; Parse
// checks them and Contributions' methods give them as fen and exact rates.
type Contributions struct {
	// AverageWage is the monthly 全口径城镇单位就业人员平均工资 the bases are measured against.
	AverageWage  string                   `json:"average_wage"`
	BaseFloor    string                   `json:"base_floor"`     // % of the average wage (60)
	BaseCeiling  string                   `json:"base_ceiling"`   // % of the average wage (300)
	DueDay       int                      `json:"due_day"`        // a month's contributions are due on this day of the next month
	LateFeeDaily string                   `json:"late_fee_daily"` // % a day on the unpaid amount (Art. 86: 0.05)
	Rates        map[Insurance]PartyRates `json:"rates"`
	// WorkInjuryClasses are the employer's rates for industry risk classes 1–8.
	WorkInjuryClasses []string `json:"work_injury_classes"`
	// Flexible are the rates of self-insured persons on their chosen base.
	Flexible map[Insurance]PartyRates `json:"flexible"`
}

// PartyRates split one insurance type's contribution between employer and employee, and say how
// much of it goes to the person's own account.
type PartyRates struct {
	Employer        string `json:"employer"`
	Employee        string `json:"employee"`
	PersonalAccount string `json:"personal_account"` // % of the base credited to the personal account
}

// CardRules govern the region's social security cards.
type CardRules struct {
	TemporaryLossDays int `json:"temporary_loss_days"` // a temporary loss lapses back to active after this many days
	PINTries          int `json:"pin_tries"`           // wrong PINs before the PIN is blocked
	ValidityYears     int `json:"validity_years"`      // a card's validity from its production
	TemporaryCardDays int `json:"temporary_card_days"` // a temporary card's validity
}

// KeyRules govern the key service of the region.
type KeyRules struct {
	// ApprovalsRequired is how many distinct custodians, other than the requester, must approve
	// generating, rotating, exporting or destroying an issuer key (dual control: at least 2).
	ApprovalsRequired int `json:"approvals_required"`
}

// UploadLimits bound the material files a clerk or resident may upload.
type UploadLimits struct {
	MaxBytes int64    `json:"max_bytes"`
	Types    []string `json:"types"` // of: "pdf", "jpeg", "png"
}

// Month is EffectiveFrom as a period.Month; valid after Parse.
func (p *Policy) Month() period.Month {
	m, _ := period.ParseMonth(p.EffectiveFrom)
	return m
}

// Category returns the category with code.
func (p *Policy) Category(code string) (*Category, bool) {
	for i := range p.Categories {
		if p.Categories[i].Code == code {
			return &p.Categories[i], true
		}
	}
	return nil, false
}

// Required lists the materials of the category that apply to a person whose household
// registration is (local) or is not in the region.
func (c *Category) Required(local bool) []Material {
	var out []Material
	for _, m := range c.Materials {
		if m.When == Always || (m.When == LocalHukou && local) || (m.When == NonLocalHukou && !local) {
			out = append(out, m)
		}
	}
	return out
}

// MaxPolicyBytes bounds a policy document.
const MaxPolicyBytes = 1 << 20

var (
	codeRE   = regexp.MustCompile(`^[a-z][a-z0-9_]{1,39}$`)
	regionRE = regexp.MustCompile(`^[0-9]{6}$`)
)

// Parse reads and validates the JSON form. Every problem is reported with the path of its field.
func Parse(b []byte) (*Policy, error) {
	if len(b) > MaxPolicyBytes {
		return nil, errs.Field("policy", fmt.Sprintf("larger than %d bytes", MaxPolicyBytes))
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var p Policy
	if err := dec.Decode(&p); err != nil {
		var typ *json.UnmarshalTypeError
		if errors.As(err, &typ) {
			return nil, errs.Field(typ.Field, "must be "+typ.Type.String())
		}
		msg := err.Error()
		if name, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
			return nil, errs.Field(strings.Trim(name, `"`), "unknown field")
		}
		return nil, errs.Field("policy", "not valid JSON")
	}
	if dec.More() {
		return nil, errs.Field("policy", "data after the JSON object")
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return &p, nil
}

// Validate checks every rule of the document and reports all problems at once.
func (p *Policy) Validate() error {
	f := errs.Fields{}
	if !regionRE.MatchString(p.Region) {
		f.Add("region", "a 6-digit administrative division code")
	}
	if _, err := period.ParseMonth(p.EffectiveFrom); err != nil {
		f.Add("effective_from", err.Error())
	}
	if strings.TrimSpace(p.Name) == "" || len([]rune(p.Name)) > 100 {
		f.Add("name", "1–100 characters")
	}
	if len(p.Categories) == 0 {
		f.Add("enrolment_categories", "at least one category")
	}
	seen := map[string]bool{}
	for i, c := range p.Categories {
		at := fmt.Sprintf("enrolment_categories[%d]", i)
		checkNamed(f, at, c.Code, c.NameZH, c.NameEN)
		if seen[c.Code] {
			f.Add(at+".code", "duplicate code "+c.Code)
		}
		seen[c.Code] = true
		if c.InsuredBy != ByEmployer && c.InsuredBy != BySelf {
			f.Add(at+".insured_by", `"employer" or "self"`)
		}
		if len(c.Insurances) == 0 {
			f.Add(at+".insurances", "at least one insurance type")
		}
		for j, ins := range c.Insurances {
			if !slices.Contains(Insurances, ins) {
				f.Add(fmt.Sprintf("%s.insurances[%d]", at, j), "one of pension, medical, unemployment, work_injury, maternity")
			}
		}
		if len(slices.Compact(slices.Sorted(slices.Values(c.Insurances)))) != len(c.Insurances) {
			f.Add(at+".insurances", "an insurance type is listed twice")
		}
		checkMaterials(f, at+".materials", c.Materials)
	}
	seen = map[string]bool{}
	for i, b := range p.Businesses {
		at := fmt.Sprintf("businesses[%d]", i)
		checkNamed(f, at, b.Code, b.NameZH, b.NameEN)
		if seen[b.Code] {
			f.Add(at+".code", "duplicate code "+b.Code)
		}
		seen[b.Code] = true
		if len(b.StepsZH) == 0 || len(b.StepsZH) != len(b.StepsEN) {
			f.Add(at+".steps_zh", "at least one step, and as many in steps_en")
		}
		if len(b.NotesZH) != len(b.NotesEN) {
			f.Add(at+".notes_zh", "as many notes as notes_en")
		}
		checkMaterials(f, at+".materials", b.Materials)
	}
	if p.Upload.MaxBytes < 1<<10 || p.Upload.MaxBytes > 50<<20 {
		f.Add("uploads.max_bytes", "between 1 KiB and 50 MiB")
	}
	if len(p.Upload.Types) == 0 {
		f.Add("uploads.types", "at least one of pdf, jpeg, png")
	}
	if p.Cards.TemporaryLossDays < 1 || p.Cards.TemporaryLossDays > 90 {
		f.Add("cards.temporary_loss_days", "from 1 to 90")
	}
	if p.Cards.PINTries < 1 || p.Cards.PINTries > 15 {
		f.Add("cards.pin_tries", "from 1 to 15")
	}
	if p.Cards.ValidityYears < 1 || p.Cards.ValidityYears > 20 {
		f.Add("cards.validity_years", "from 1 to 20")
	}
	if p.Cards.TemporaryCardDays < 1 || p.Cards.TemporaryCardDays > 183 {
		f.Add("cards.temporary_card_days", "from 1 to 183 (six months at most)")
	}
	p.Contributions.validate(f)
	if p.MedicalRules != nil {
		p.MedicalRules.validate(f)
	}
	if p.BenefitRules != nil {
		p.BenefitRules.validate(f)
	}
	if p.Bureau != nil {
		if n := len([]rune(strings.TrimSpace(p.Bureau.NameZH))); n == 0 || n > 100 {
			f.Add("bureau.name_zh", "1–100 characters")
		}
		if n := len([]rune(strings.TrimSpace(p.Bureau.NameEN))); n == 0 || n > 200 {
			f.Add("bureau.name_en", "1–200 characters")
		}
	}
	if p.Keys.ApprovalsRequired < 2 || p.Keys.ApprovalsRequired > 10 {
		f.Add("keys.approvals_required", "dual control needs from 2 to 10 approvals")
	}
	for _, t := range p.Upload.Types {
		if t != "pdf" && t != "jpeg" && t != "png" {
			f.Add("uploads.types", "only pdf, jpeg and png")
		}
	}
	return f.Err()
}

func checkNamed(f errs.Fields, at, code, zh, en string) {
	if !codeRE.MatchString(code) {
		f.Add(at+".code", "2–40 characters: lower-case letters, digits, underscores, starting with a letter")
	}
	if strings.TrimSpace(zh) == "" || len([]rune(zh)) > 200 {
		f.Add(at+".name_zh", "1–200 characters")
	}
	if strings.TrimSpace(en) == "" || len([]rune(en)) > 200 {
		f.Add(at+".name_en", "1–200 characters")
	}
}

func checkMaterials(f errs.Fields, at string, ms []Material) {
	seen := map[string]bool{}
	for i, m := range ms {
		mat := fmt.Sprintf("%s[%d]", at, i)
		checkNamed(f, mat, m.Code, m.NameZH, m.NameEN)
		if seen[m.Code] {
			f.Add(mat+".code", "duplicate code "+m.Code)
		}
		seen[m.Code] = true
		if m.When != Always && m.When != LocalHukou && m.When != NonLocalHukou {
			f.Add(mat+".when", "always, local_hukou or non_local_hukou")
		}
	}
}

//go:embed default.json
var defaultJSON []byte

// Default returns the demo defaults of SPEC 3.1 for a region, effective from the given month.
func Default(region string, from period.Month) (*Policy, []byte, error) {
	var p Policy
	if err := json.Unmarshal(defaultJSON, &p); err != nil {
		return nil, nil, fmt.Errorf("policy: default.json: %w", err)
	}
	p.Region, p.EffectiveFrom = region, from.String()
	if err := p.Validate(); err != nil {
		return nil, nil, fmt.Errorf("policy: default.json: %w", err)
	}
	b, err := jsonOf(&p)
	return &p, b, err
}

func jsonOf(p *Policy) ([]byte, error) { return json.MarshalIndent(p, "", "  ") }

func (c *Contributions) validate(f errs.Fields) {
	yuan := func(field, v string) {
		if x, err := money.ParseYuan(v); err != nil || x == 0 {
			f.Add("contributions."+field, "an amount in yuan above zero")
		}
	}
	rate := func(field, v string) money.Rate {
		r, err := money.ParseRate(v)
		if err != nil {
			f.Add("contributions."+field, "a percentage like 16 or 0.5")
		}
		return r
	}
	yuan("average_wage", c.AverageWage)
	share := func(field, v string) money.Rate {
		r, err := money.ParsePercent(v, 10*money.PerMillion)
		if err != nil {
			f.Add("contributions."+field, "a percentage of the average wage, up to 1000")
		}
		return r
	}
	lo, hi := share("base_floor", c.BaseFloor), share("base_ceiling", c.BaseCeiling)
	if hi < lo || hi == 0 {
		f.Add("contributions.base_ceiling", "at least the floor")
	}
	if c.DueDay < 1 || c.DueDay > 28 {
		f.Add("contributions.due_day", "a day from 1 to 28")
	}
	rate("late_fee_daily", c.LateFeeDaily)
	for _, ins := range []Insurance{Pension, Medical, Unemployment} {
		r, ok := c.Rates[ins]
		if !ok {
			f.Add("contributions.rates."+string(ins), "required")
			continue
		}
		at := "rates." + string(ins)
		rate(at+".employer", r.Employer)
		emp := rate(at+".employee", r.Employee)
		pa := rate(at+".personal_account", orZero(r.PersonalAccount))
		if pa > emp+rate(at+".employer", r.Employer) {
			f.Add("contributions."+at+".personal_account", "more than is contributed")
		}
	}
	for ins := range c.Rates {
		if ins != Pension && ins != Medical && ins != Unemployment {
			f.Add("contributions.rates."+string(ins), "pension, medical and unemployment have party rates; work injury has classes; maternity is merged into medical")
		}
	}
	if len(c.WorkInjuryClasses) != 8 {
		f.Add("contributions.work_injury_classes", "eight rates, for risk classes 1 to 8")
	}
	for i, v := range c.WorkInjuryClasses {
		rate(fmt.Sprintf("work_injury_classes[%d]", i), v)
	}
	for ins, r := range c.Flexible {
		if ins != Pension && ins != Medical {
			f.Add("contributions.flexible."+string(ins), "flexible workers insure pension and medical only")
		}
		at := "flexible." + string(ins)
		emp := rate(at+".employee", r.Employee)
		if orZero(r.Employer) != "0" {
			f.Add("contributions."+at+".employer", "a self-insured person has no employer")
		}
		if pa := rate(at+".personal_account", orZero(r.PersonalAccount)); pa > emp {
			f.Add("contributions."+at+".personal_account", "more than is contributed")
		}
	}
}

func orZero(s string) string {
	if s == "" {
		return "0"
	}
	return s
}

// Floor and Ceiling are the base limits in fen: the average wage × the floor and ceiling shares.
func (c *Contributions) Floor() money.Fen {
	w, _ := money.ParseYuan(c.AverageWage)
	r, _ := money.ParsePercent(c.BaseFloor, 10*money.PerMillion)
	return money.Apply(w, r)
}

// Ceiling is the highest base.
func (c *Contributions) Ceiling() money.Fen {
	w, _ := money.ParseYuan(c.AverageWage)
	r, _ := money.ParsePercent(c.BaseCeiling, 10*money.PerMillion)
	return money.Apply(w, r)
}

// Clamp brings a declared base within the floor and the ceiling.
func (c *Contributions) Clamp(base money.Fen) money.Fen {
	return min(max(base, c.Floor()), c.Ceiling())
}

// Rate reads a validated rate.
func Rate(s string) money.Rate {
	r, _ := money.ParseRate(orZero(s))
	return r
}
