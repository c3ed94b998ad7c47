package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/policy"
)

// The policy page's form for the fields an administrator changes most: the version's name and
// month, the average wage with the base floor and ceiling, the due day and late fee, and the
// employer's and employee's rates of the insurances that have both. It starts from a whole policy
// document (the one in force), puts the typed values into it and proposes the result through
// policy.Store.Propose, exactly as if the JSON had been edited by hand: the same parsing, the same
// validation, the same approval by a second person. Every other rule of the document is carried
// over unchanged. Each input is named by its key in the document, so a problem the validation
// reports lands beside its input.

// policyFormKeys are the document keys the form edits, in its order; policyFormName stands for
// "name", which on a page would otherwise be called a person's name (姓名).
const policyFormName = "policy_name"

var (
	policyGeneralKeys = []string{policyFormName, "effective_from"}
	policyBaseKeys    = []string{"contributions.average_wage", "contributions.base_floor", "contributions.base_ceiling",
		"contributions.due_day", "contributions.late_fee_daily"}
	// policyRateInsurances have an employer's and an employee's rate (work injury has risk classes
	// and maternity is merged into medical: they stay in the JSON).
	policyRateInsurances = []policy.Insurance{policy.Pension, policy.Medical, policy.Unemployment}
	policyRateParts      = []string{"employer", "employee", "personal_account"}
)

func rateKey(ins policy.Insurance, part string) string {
	return "contributions.rates." + string(ins) + "." + part
}

// policyFormKeys lists every key of the form.
func policyFormKeys() []string {
	keys := append(append([]string{}, policyGeneralKeys...), policyBaseKeys...)
	for _, ins := range policyRateInsurances {
		for _, part := range policyRateParts {
			keys = append(keys, rateKey(ins, part))
		}
	}
	return keys
}

// policyFormField is one input.
type policyFormField struct {
	Key       string // the input's name: the document key
	ID        string // the element id
	Label     string
	Hint      string
	Value     string
	InputMode string // "decimal" or "numeric"
}

// policyFormGroup is a fieldset of inputs.
type policyFormGroup struct {
	ID     string
	Legend string
	Fields []policyFormField
}

// policyForm is the form as shown: the version it starts from and its inputs.
type policyForm struct {
	Base     int64  // the version whose other rules are carried over; 0: the built-in defaults
	BaseFrom string // that version's month, for the text above the form
	Groups   []policyFormGroup
}

// policyFormValues reads the form's values out of a policy.
func policyFormValues(p *policy.Policy) map[string]string {
	c := p.Contributions
	vals := map[string]string{policyFormName: p.Name, "effective_from": p.EffectiveFrom,
		"contributions.average_wage": c.AverageWage, "contributions.base_floor": c.BaseFloor, "contributions.base_ceiling": c.BaseCeiling,
		"contributions.due_day": strconv.Itoa(c.DueDay), "contributions.late_fee_daily": c.LateFeeDaily}
	for _, ins := range policyRateInsurances {
		r := c.Rates[ins]
		vals[rateKey(ins, "employer")], vals[rateKey(ins, "employee")], vals[rateKey(ins, "personal_account")] = r.Employer, r.Employee, r.PersonalAccount
	}
	return vals
}

// applyPolicyForm puts the typed values into a policy. A due day that is not a whole number
// becomes 0, which the validation refuses with its own words.
func applyPolicyForm(p *policy.Policy, vals map[string]string) {
	p.Name, p.EffectiveFrom = vals[policyFormName], vals["effective_from"]
	c := &p.Contributions
	c.AverageWage, c.BaseFloor, c.BaseCeiling, c.LateFeeDaily = vals["contributions.average_wage"], vals["contributions.base_floor"],
		vals["contributions.base_ceiling"], vals["contributions.late_fee_daily"]
	c.DueDay, _ = strconv.Atoi(vals["contributions.due_day"])
	if c.Rates == nil {
		c.Rates = map[policy.Insurance]policy.PartyRates{}
	}
	for _, ins := range policyRateInsurances {
		r := c.Rates[ins]
		r.Employer, r.Employee, r.PersonalAccount = vals[rateKey(ins, "employer")], vals[rateKey(ins, "employee")], vals[rateKey(ins, "personal_account")]
		c.Rates[ins] = r
	}
}

// buildPolicyForm lays the values out as the page shows them, in the reader's language.
func buildPolicyForm(l lang, base int64, baseFrom string, vals map[string]string) *policyForm {
	field := func(key, label, hint, mode string) policyFormField {
		return policyFormField{Key: key, ID: "pf-" + strings.NewReplacer(".", "-", "_", "-").Replace(key), Label: label, Hint: hint,
			Value: vals[key], InputMode: mode}
	}
	f := &policyForm{Base: base, BaseFrom: baseFrom}
	general := policyFormGroup{ID: "pf-general", Legend: l.T("pform.general")}
	general.Fields = append(general.Fields, field(policyFormName, l.T("f."+policyFormName), "", ""),
		field("effective_from", l.T("f.effective_from"), l.T("pform.month_hint"), "numeric"))
	bases := policyFormGroup{ID: "pf-bases", Legend: l.T("pform.bases")}
	for _, k := range policyBaseKeys {
		mode := "decimal"
		if k == "contributions.due_day" {
			mode = "numeric"
		}
		bases.Fields = append(bases.Fields, field(k, l.T("f."+k), l.T("pform.hint."+k), mode))
	}
	f.Groups = append(f.Groups, general, bases)
	for _, ins := range policyRateInsurances {
		g := policyFormGroup{ID: "pf-" + strings.ReplaceAll(string(ins), "_", "-"), Legend: l.T("ins." + string(ins))}
		for _, part := range policyRateParts {
			g.Fields = append(g.Fields, field(rateKey(ins, part), l.T("pform."+part), "", "decimal"))
		}
		f.Groups = append(f.Groups, g)
	}
	return f
}

// policyFormBase is the document the form starts from: the version in force this month, else the
// newest version, else the built-in defaults (Base 0).
func (s *Server) policyFormBase(ctx context.Context, p *auth.Principal, region string, vs []policy.Version) (int64, *policy.Policy, error) {
	v, err := s.Policies.Effective(ctx, s.DB.R(), region, period.MonthOf(s.Now()))
	switch {
	case err == nil:
	case errs.CodeOf(err) == errs.Unavailable && len(vs) > 0:
		if v, err = s.Policies.Get(ctx, p, vs[0].ID); err != nil {
			return 0, nil, err
		}
	case errs.CodeOf(err) == errs.Unavailable:
		d, _, err := policy.Default(region, period.MonthOf(s.Now()).Add(1))
		return 0, d, err
	default:
		return 0, nil, err
	}
	return v.ID, v.Policy, nil
}

// baseDocument is a fresh copy of the version the form names, to change without touching the
// store's parsed copy.
func (s *Server) baseDocument(ctx context.Context, p *auth.Principal, base int64) (*policy.Policy, error) {
	var doc policy.Policy
	if base == 0 {
		d, _, err := policy.Default(p.Regions[0], period.MonthOf(s.Now()).Add(1))
		return d, err
	}
	v, err := s.Policies.Get(ctx, p, base)
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(v.Body), &doc); err != nil {
		return nil, fmt.Errorf("web: policy version %d: %w", base, err)
	}
	return &doc, nil
}

// proposePolicyForm builds the document from the form and proposes it. It returns the values as
// typed, to show again when the proposal is refused.
func (s *Server) proposePolicyForm(r *http.Request, p *auth.Principal) (map[string]string, int64, error) {
	vals := map[string]string{}
	for _, k := range policyFormKeys() {
		vals[k] = strings.TrimSpace(r.PostFormValue(k))
	}
	// A month typed as 2027-01 is the month 202701, written in the document as its readers expect.
	if m, err := period.ParseMonth(vals["effective_from"]); err == nil {
		vals["effective_from"] = m.String()
	}
	base, err := strconv.ParseInt(r.PostFormValue("base"), 10, 64)
	if err != nil || base < 0 {
		return vals, 0, errs.E(errs.BadRequest, "no such policy version")
	}
	doc, err := s.baseDocument(r.Context(), p, base)
	if err != nil {
		return vals, base, err
	}
	applyPolicyForm(doc, vals)
	body, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return vals, base, err
	}
	_, err = s.Policies.Propose(r.Context(), p, p.Actor(), body)
	if e, ok := errs.As(err); ok && e.Fields["name"] != "" {
		shown := *e
		shown.Fields = map[string]string{}
		for k, v := range e.Fields {
			if k == "name" {
				k = policyFormName
			}
			shown.Fields[k] = v
		}
		err = &shown
	}
	return vals, base, err
}
