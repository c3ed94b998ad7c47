package policy

import (
	"fmt"
	"slices"

	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/money"
)

// MedicalRules are the region's medical settlement parameters (SPEC 3.5). Amounts are yuan and
// ratios percentages, as strings, like the rest of the policy. Levels are a hospital's 一级, 二级,
// 三级 ("1", "2", "3"); a pharmacy has none.
type MedicalRules struct {
	// BFirstSelfPay is the share of a 乙类 (B) item the person pays first, before the scheme.
	BFirstSelfPay string          `json:"b_first_self_pay"`
	Outpatient    OutpatientRules `json:"outpatient"`
	Inpatient     InpatientRules  `json:"inpatient"`
	MedicalCard   MedicalCardRule `json:"medical_card"`
}

// OutpatientRules: the deductible is a year's, counted across the year's outpatient settlements.
type OutpatientRules struct {
	Deductible string            `json:"deductible"` // yuan a year
	Ratio      map[string]string `json:"ratio"`      // % the pool pays above the deductible, by level
	AnnualCap  string            `json:"annual_cap"` // yuan the pool pays a person a year at most
}

// InpatientRules: the deductible is an admission's, by the hospital's level.
type InpatientRules struct {
	Deductible map[string]string `json:"deductible"` // yuan an admission, by level
	Ratio      map[string]string `json:"ratio"`      // %, by level
	AnnualCap  string            `json:"annual_cap"`
}

// MedicalCardRule limits the bank's medical insurance card, which nothing proves genuine.
type MedicalCardRule struct {
	Kinds            []string `json:"kinds"`              // which settlement kinds it may pay
	MaxPerSettlement string   `json:"max_per_settlement"` // yuan, a settlement's total at most
	MaxPerDay        string   `json:"max_per_day"`        // yuan, a day's settlements' totals at most
}

// Settlement kinds.
const (
	Outpatient = "outpatient"
	Inpatient  = "inpatient"
	Pharmacy   = "pharmacy"
)

// SettlementKinds lists the kinds of SPEC 3.5.
var SettlementKinds = []string{Outpatient, Inpatient, Pharmacy}

// Levels are a hospital's levels as the policy writes them.
var Levels = []string{"1", "2", "3"}

// MedicalParams are MedicalRules read into fen and exact rates; valid after Parse.
type MedicalParams struct {
	BFirstSelfPay money.Rate
	OutDeductible money.Fen
	OutRatio      map[int]money.Rate
	OutCap        money.Fen
	InDeductible  map[int]money.Fen
	InRatio       map[int]money.Rate
	InCap         money.Fen
	CardKinds     []string
	CardMaxEach   money.Fen
	CardMaxDay    money.Fen
}

// Medical reads the medical section; ok is false for a policy without one (versions written before
// medical settlement existed), which settles nothing.
func (p *Policy) Medical() (MedicalParams, bool) {
	if p.MedicalRules == nil {
		return MedicalParams{}, false
	}
	m, err := p.MedicalRules.compile()
	return m, err == nil
}

func (r *MedicalRules) compile() (MedicalParams, error) {
	f := errs.Fields{}
	r.validate(f)
	if err := f.Err(); err != nil {
		return MedicalParams{}, err
	}
	yuan := func(s string) money.Fen { v, _ := money.ParseYuan(s); return v }
	rate := func(s string) money.Rate { v, _ := money.ParseRate(s); return v }
	m := MedicalParams{BFirstSelfPay: rate(r.BFirstSelfPay), OutDeductible: yuan(r.Outpatient.Deductible), OutCap: yuan(r.Outpatient.AnnualCap),
		InCap: yuan(r.Inpatient.AnnualCap), CardKinds: r.MedicalCard.Kinds, CardMaxEach: yuan(r.MedicalCard.MaxPerSettlement),
		CardMaxDay: yuan(r.MedicalCard.MaxPerDay), OutRatio: map[int]money.Rate{}, InRatio: map[int]money.Rate{}, InDeductible: map[int]money.Fen{}}
	for i, l := range Levels {
		m.OutRatio[i+1] = rate(r.Outpatient.Ratio[l])
		m.InRatio[i+1] = rate(r.Inpatient.Ratio[l])
		m.InDeductible[i+1] = yuan(r.Inpatient.Deductible[l])
	}
	return m, nil
}

func (r *MedicalRules) validate(f errs.Fields) {
	amount := func(field, v string, zeroOK bool) {
		x, err := money.ParseYuan(v)
		if err != nil || (!zeroOK && x == 0) {
			f.Add("medical."+field, "an amount in yuan like 1800 or 1800.00")
		}
	}
	pct := func(field, v string) {
		if _, err := money.ParseRate(v); err != nil {
			f.Add("medical."+field, "a percentage from 0 to 100, like 90 or 12.5")
		}
	}
	byLevel := func(field string, m map[string]string, check func(string, string)) {
		for _, l := range Levels {
			v, ok := m[l]
			if !ok {
				f.Add(fmt.Sprintf("medical.%s.%s", field, l), "required for level "+l)
				continue
			}
			check(field+"."+l, v)
		}
		for l := range m {
			if !slices.Contains(Levels, l) {
				f.Add(fmt.Sprintf("medical.%s.%s", field, l), `a hospital level is "1", "2" or "3"`)
			}
		}
	}
	pct("b_first_self_pay", r.BFirstSelfPay)
	amount("outpatient.deductible", r.Outpatient.Deductible, true)
	byLevel("outpatient.ratio", r.Outpatient.Ratio, pct)
	amount("outpatient.annual_cap", r.Outpatient.AnnualCap, false)
	byLevel("inpatient.deductible", r.Inpatient.Deductible, func(field, v string) { amount(field, v, true) })
	byLevel("inpatient.ratio", r.Inpatient.Ratio, pct)
	amount("inpatient.annual_cap", r.Inpatient.AnnualCap, false)
	for i, k := range r.MedicalCard.Kinds {
		if !slices.Contains(SettlementKinds, k) {
			f.Add(fmt.Sprintf("medical.medical_card.kinds[%d]", i), "outpatient, inpatient or pharmacy")
		}
	}
	amount("medical_card.max_per_settlement", r.MedicalCard.MaxPerSettlement, false)
	amount("medical_card.max_per_day", r.MedicalCard.MaxPerDay, false)
}
