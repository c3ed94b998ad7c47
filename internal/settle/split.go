package settle

import (
	"github.com/shebao/shebao/internal/money"
	"github.com/shebao/shebao/internal/policy"
)

// Category of an item: 甲类 (A) wholly within the scheme, 乙类 (B) within it after a first
// self-paid share, 丙类 (C) outside it.
type Category string

const (
	CatA Category = "A"
	CatB Category = "B"
	CatC Category = "C"
)

// Item is one line of a bill.
type Item struct {
	Code     string
	Name     string
	Category Category
	Amount   money.Fen
}

// Used is what a person's settlements of the year have counted so far.
type Used struct {
	OutpatientDeductible money.Fen
	OutpatientPool       money.Fen
	InpatientPool        money.Fen
}

// SplitInput is everything the split depends on.
type SplitInput struct {
	Kind           string // policy.Outpatient, policy.Inpatient or policy.Pharmacy
	Level          int    // the hospital's level 1–3; 0 for a pharmacy
	Items          []Item
	Rules          policy.MedicalParams
	Used           Used      // the year's counters before this settlement
	AccountBalance money.Fen // the medical personal account's balance before it
	UseAccount     bool
}

// Split is every figure of SPEC 3.5's split, in fen, for the receipt.
type Split struct {
	Total         money.Fen
	SelfPayC      money.Fen
	FirstSelfPayB money.Fen
	Eligible      money.Fen
	Deductible    money.Fen
	Ratio         money.Rate
	Pool          money.Fen
	Personal      money.Fen
	Account       money.Fen
	Cash          money.Fen
	CapLeft       money.Fen // the kind's annual cap less what the pool has paid this year, this settlement included
}

// Compute is the split, exactly as SPEC 3.5 writes it: each product rounded half up once, where it
// is made (money.Apply), and every other figure a sum or difference of those.
func Compute(in SplitInput) Split {
	var s Split
	// 1. What is outside the scheme, and the first share of B items.
	for _, it := range in.Items {
		s.Total += it.Amount
		switch it.Category {
		case CatC:
			s.SelfPayC += it.Amount
		case CatB:
			s.FirstSelfPayB += money.Apply(it.Amount, in.Rules.BFirstSelfPay)
		}
	}
	s.Eligible = s.Total - s.SelfPayC - s.FirstSelfPayB
	// 2. The deductible: an admission's for inpatients, what is left of the year's for outpatients.
	var room, capTotal, capPaid money.Fen
	switch in.Kind {
	case policy.Inpatient:
		room, s.Ratio = in.Rules.InDeductible[in.Level], in.Rules.InRatio[in.Level]
		capTotal, capPaid = in.Rules.InCap, in.Used.InpatientPool
	case policy.Outpatient:
		room, s.Ratio = max(0, in.Rules.OutDeductible-in.Used.OutpatientDeductible), in.Rules.OutRatio[in.Level]
		capTotal, capPaid = in.Rules.OutCap, in.Used.OutpatientPool
	}
	s.Deductible = min(s.Eligible, room)
	// 3. The pool's part, within what the year's cap leaves.
	if in.Kind != policy.Pharmacy {
		s.Pool = money.Apply(s.Eligible-s.Deductible, s.Ratio)
		s.Pool = min(s.Pool, max(0, capTotal-capPaid))
		s.CapLeft = max(0, capTotal-capPaid-s.Pool)
	}
	// 4. The person's part, from the personal account as far as it goes, the rest in cash.
	s.Personal = s.Total - s.Pool
	if in.UseAccount {
		s.Account = min(s.Personal, max(0, in.AccountBalance))
	}
	s.Cash = s.Personal - s.Account
	return s
}

// counted is what a settlement adds to the year's counters.
func (s Split) counted(kind string) Used {
	switch kind {
	case policy.Outpatient:
		return Used{OutpatientDeductible: s.Deductible, OutpatientPool: s.Pool}
	case policy.Inpatient:
		return Used{InpatientPool: s.Pool}
	}
	return Used{}
}
