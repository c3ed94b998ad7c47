package settle

import (
	"testing"

	"github.com/shebao/shebao/internal/money"
	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/policy"
)

func demoRules(t *testing.T) policy.MedicalParams {
	t.Helper()
	p, _, err := policy.Default("330100", period.Month(202601))
	if err != nil {
		t.Fatal(err)
	}
	m, ok := p.Medical()
	if !ok {
		t.Fatal("the default policy has no medical section")
	}
	return m
}

func y(s string) money.Fen {
	v, err := money.ParseYuan(s)
	if err != nil {
		panic(err)
	}
	return v
}

func items(spec ...string) []Item {
	var out []Item
	for i := 0; i+1 < len(spec); i += 2 {
		out = append(out, Item{Code: "X", Name: "x", Category: Category(spec[i]), Amount: y(spec[i+1])})
	}
	return out
}

// TestSplit: SPEC 3.5 steps 1–4 by hand, against the demo region's rules (B first share 10 %;
// outpatient deductible 1200 a year, ratios 70/60/50 %, cap 6000; inpatient deductible
// 300/600/900 an admission, ratios 95/90/85 %, cap 500000).
func TestSplit(t *testing.T) {
	r := demoRules(t)
	for _, c := range []struct {
		name string
		in   SplitInput
		want Split
	}{
		{"outpatient, every category, all within the deductible",
			SplitInput{Kind: policy.Outpatient, Level: 1, Items: items("A", "100", "B", "200", "C", "50"), AccountBalance: y("1000"), UseAccount: true},
			Split{Total: y("350"), SelfPayC: y("50"), FirstSelfPayB: y("20"), Eligible: y("280"), Deductible: y("280"), Ratio: 700000,
				Pool: 0, Personal: y("350"), Account: y("350"), Cash: 0, CapLeft: y("6000")}},
		{"outpatient, deductible partly used before, account short",
			SplitInput{Kind: policy.Outpatient, Level: 2, Items: items("A", "500"), Used: Used{OutpatientDeductible: y("1000")}, AccountBalance: y("100"), UseAccount: true},
			Split{Total: y("500"), Eligible: y("500"), Deductible: y("200"), Ratio: 600000, Pool: y("180"), Personal: y("320"),
				Account: y("100"), Cash: y("220"), CapLeft: y("5820")}},
		{"outpatient level 3, deductible wholly used",
			SplitInput{Kind: policy.Outpatient, Level: 3, Items: items("A", "100"), Used: Used{OutpatientDeductible: y("1200")}, AccountBalance: y("500"), UseAccount: true},
			Split{Total: y("100"), Eligible: y("100"), Ratio: 500000, Pool: y("50"), Personal: y("50"), Account: y("50"), CapLeft: y("5950")}},
		{"outpatient, the cap reached in the middle of a settlement",
			SplitInput{Kind: policy.Outpatient, Level: 1, Items: items("A", "1000"), Used: Used{OutpatientDeductible: y("1200"), OutpatientPool: y("5950")}},
			Split{Total: y("1000"), Eligible: y("1000"), Ratio: 700000, Pool: y("50"), Personal: y("950"), Cash: y("950"), CapLeft: 0}},
		{"outpatient, cap already reached",
			SplitInput{Kind: policy.Outpatient, Level: 1, Items: items("A", "10"), Used: Used{OutpatientDeductible: y("1200"), OutpatientPool: y("6000")}},
			Split{Total: y("10"), Eligible: y("10"), Ratio: 700000, Pool: 0, Personal: y("10"), Cash: y("10"), CapLeft: 0}},
		{"inpatient level 3, every category, account not used",
			SplitInput{Kind: policy.Inpatient, Level: 3, Items: items("A", "10000", "B", "2000", "C", "1000"), AccountBalance: y("5000"), UseAccount: false},
			Split{Total: y("13000"), SelfPayC: y("1000"), FirstSelfPayB: y("200"), Eligible: y("11800"), Deductible: y("900"), Ratio: 850000,
				Pool: y("9265"), Personal: y("3735"), Cash: y("3735"), CapLeft: y("490735")}},
		{"inpatient level 1",
			SplitInput{Kind: policy.Inpatient, Level: 1, Items: items("A", "1000"), AccountBalance: y("1000"), UseAccount: true},
			Split{Total: y("1000"), Eligible: y("1000"), Deductible: y("300"), Ratio: 950000, Pool: y("665"), Personal: y("335"), Account: y("335"), CapLeft: y("499335")}},
		{"inpatient level 2, the deductible per admission ignores the outpatient year",
			SplitInput{Kind: policy.Inpatient, Level: 2, Items: items("A", "1000"), Used: Used{OutpatientDeductible: y("1200"), InpatientPool: y("1000")}},
			Split{Total: y("1000"), Eligible: y("1000"), Deductible: y("600"), Ratio: 900000, Pool: y("360"), Personal: y("640"), Cash: y("640"), CapLeft: y("498640")}},
		{"inpatient below the deductible",
			SplitInput{Kind: policy.Inpatient, Level: 2, Items: items("A", "200")},
			Split{Total: y("200"), Eligible: y("200"), Deductible: y("200"), Ratio: 900000, Personal: y("200"), Cash: y("200"), CapLeft: y("500000")}},
		{"pharmacy: the personal account only",
			SplitInput{Kind: policy.Pharmacy, Items: items("A", "30", "B", "20", "C", "10"), AccountBalance: y("25"), UseAccount: true},
			Split{Total: y("60"), SelfPayC: y("10"), FirstSelfPayB: y("2"), Eligible: y("48"), Personal: y("60"), Account: y("25"), Cash: y("35")}},
		{"half fen rounded up, once, where each product is made",
			// B 0.15 × 10 % = 1.5 fen → 2; eligible 17 fen; × 50 % = 8.5 fen → 9.
			SplitInput{Kind: policy.Outpatient, Level: 3, Items: items("B", "0.15", "A", "0.04"), Used: Used{OutpatientDeductible: y("1200")}},
			Split{Total: 19, FirstSelfPayB: 2, Eligible: 17, Ratio: 500000, Pool: 9, Personal: 10, Cash: 10, CapLeft: y("6000") - 9}},
		{"half fen per B line, not on their sum",
			// 0.05 × 10 % = 0.5 fen → 1, twice: 2 fen (the sum 0.10 × 10 % would be 1).
			SplitInput{Kind: policy.Pharmacy, Items: items("B", "0.05", "B", "0.05")},
			Split{Total: 10, FirstSelfPayB: 2, Eligible: 8, Personal: 10, Cash: 10}},
		{"an account balance below zero is no money",
			SplitInput{Kind: policy.Pharmacy, Items: items("A", "10"), AccountBalance: -5, UseAccount: true},
			Split{Total: y("10"), Eligible: y("10"), Personal: y("10"), Cash: y("10")}},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.in.Rules = r
			if got := Compute(c.in); got != c.want {
				t.Errorf("Compute =\n %+v\nwant\n %+v", got, c.want)
			}
		})
	}
}

// TestDeductibleAcrossSettlements: the year's outpatient deductible is counted across
// settlements; the second one pays only the room left.
func TestDeductibleAcrossSettlements(t *testing.T) {
	r := demoRules(t)
	var used Used
	first := Compute(SplitInput{Kind: policy.Outpatient, Level: 1, Items: items("A", "800"), Rules: r, Used: used})
	if first.Deductible != y("800") || first.Pool != 0 {
		t.Fatalf("first = %+v", first)
	}
	c := first.counted(policy.Outpatient)
	used.OutpatientDeductible += c.OutpatientDeductible
	used.OutpatientPool += c.OutpatientPool
	second := Compute(SplitInput{Kind: policy.Outpatient, Level: 1, Items: items("A", "800"), Rules: r, Used: used})
	if second.Deductible != y("400") || second.Pool != y("280") || second.CapLeft != y("5720") {
		t.Fatalf("second = %+v", second)
	}
	// The invariants of every split.
	for _, s := range []Split{first, second} {
		if s.Pool+s.Account+s.Cash != s.Total || s.Personal != s.Total-s.Pool || s.Eligible != s.Total-s.SelfPayC-s.FirstSelfPayB {
			t.Fatalf("split does not add up: %+v", s)
		}
	}
}
