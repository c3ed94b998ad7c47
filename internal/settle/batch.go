package settle

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/shebao/shebao/internal/apdu"
	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/keys"
	"github.com/shebao/shebao/internal/ledger"
	"github.com/shebao/shebao/internal/money"
	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/policy"
	"github.com/shebao/shebao/internal/registry"
)

// The card settlements of a batch, carried out together.
//
// settle (settlement.go) carries out one settlement with some twenty statements: the idempotency
// key, the card, its counter, the insurance, the policy, the year's counters, the balance, the
// number, the entry and its postings and balances, the row and its items, the counters again, the
// audit entry. settleTogether carries out all the batch's settlements with the social security card
// with about as many statements in all: it reads what they need in a few queries, decides each in
// the batch's order in memory — every later settlement of a person sees the earlier ones' counters,
// balance and card counter, as it would one after the other — and writes what was decided with
// multi-row statements: the numbers at once, one ledger.PostMany, the rows and items, the year
// counters and card counters moved once each, one audit.RecordMany with an entry per settlement.
// The decisions are settle's, step for step and with its errors; a refused request writes nothing.
//
// What it does not do in memory it leaves to settle: a request whose idempotency key another
// request of the batch uses runs alone after it (and finds it, as a retry would); and if anything
// fails while writing, the engine undoes the lot and runs each through settle.

// cardRequest is what a card settlement brings to the writer.
type cardRequest struct {
	by   *auth.Principal
	inst Institution
	r    Request
	v    validated
}

// decided is one request of the batch as settleTogether decided it.
type decided struct {
	out     outcome
	alone   bool        // left to be carried out alone
	st      *Settlement // to write
	key     string
	used    Used // what it counts in the person's year
	yearRef yearKey
}

type yearKey struct {
	region string
	person int64
	year   int
}

func (s *Service) settleTogether(tx *db.Tx, jobs []*job) ([]outcome, []bool, error) {
	ctx := context.Background()
	reqs := make([]*cardRequest, len(jobs))
	for i, j := range jobs {
		reqs[i] = j.together.(*cardRequest)
	}
	ds := make([]decided, len(reqs))

	// What was asked before: each key's settlement in the database, and keys given twice here.
	prior, err := priorKeys(ctx, tx, reqs)
	if err != nil {
		return nil, nil, err
	}
	firstWith := map[[2]string]int{}
	proofs := make([]keys.TransactionProof, len(reqs))
	var chips []string
	var chipIDs [][16]byte
	open := make([]bool, len(reqs)) // still to decide
	for i, r := range reqs {
		k := [2]string{r.inst.Code, strings.TrimSpace(r.r.IdemKey)}
		ds[i].key = k[1]
		if _, dup := firstWith[k]; dup {
			ds[i].alone = true
			continue
		}
		firstWith[k] = i
		if p, ok := prior[k]; ok {
			if p.hash != r.v.hash {
				ds[i].out = outcome{err: errs.E(errs.Conflict, "the idempotency key %q was used for a different settlement", clip(k[1]))}
				continue
			}
			st, err := loadSettlement(ctx, tx, r.inst.Region, p.seq)
			if err != nil {
				return nil, nil, err
			}
			st.Replay = true
			ds[i].out = outcome{v: st}
			continue
		}
		proof, err := parseProof(*r.r.Identity.Card)
		if err != nil {
			ds[i].out = outcome{err: err}
			continue
		}
		proofs[i] = proof
		chips = append(chips, hexID(proof.CardID))
		chipIDs = append(chipIDs, proof.CardID)
		open[i] = true
	}

	// The cards, their counters, and what their holders' settlements depend on.
	holders, err := s.cards.HoldersByChip(ctx, tx, chips)
	if err != nil {
		return nil, nil, err
	}
	counters, err := s.keys.Counters(ctx, tx, chipIDs)
	if err != nil {
		return nil, nil, err
	}
	byMonth := map[period.Month][]int64{}
	for i, r := range reqs {
		if !open[i] {
			continue
		}
		if h := holders[hexID(proofs[i].CardID)]; h.Err == nil && h.Region == r.inst.Region {
			m := monthOf(r.v.date)
			byMonth[m] = append(byMonth[m], h.PersonID)
		} // else refused below, in its turn
	}
	insured := map[period.Month]map[int64]bool{}
	for m, persons := range byMonth {
		if insured[m], err = registry.InsuredAmong(ctx, tx, persons, policy.Medical, m); err != nil {
			return nil, nil, err
		}
	}
	years := map[yearKey]Used{}
	var accounts []string
	for i, r := range reqs {
		if !open[i] {
			continue
		}
		if h := holders[hexID(proofs[i].CardID)]; h.Err == nil && h.Region == r.inst.Region && insured[monthOf(r.v.date)][h.PersonID] {
			years[yearKey{r.inst.Region, h.PersonID, r.v.year}] = Used{}
			accounts = append(accounts, ledger.PersonAccount(r.inst.Region, ledger.PersonMedical, h.PersonID))
		}
	}
	created, err := yearsUsed(ctx, tx, years)
	if err != nil {
		return nil, nil, err
	}
	balances, err := ledger.Balances(ctx, tx, accounts)
	if err != nil {
		return nil, nil, err
	}
	type regionMonth struct {
		region string
		month  period.Month
	}
	rules := map[regionMonth]policy.MedicalParams{}
	ruleErr := map[regionMonth]error{}

	// Each in its turn, as settle would decide it.
	for i, r := range reqs {
		if !open[i] {
			continue
		}
		h := holders[hexID(proofs[i].CardID)]
		if h.Err != nil {
			ds[i].out = outcome{err: h.Err}
			continue
		}
		bindProof(&proofs[i], r.inst, r.v)
		if err := proofRefusal(counters.Check(ctx, tx, proofs[i])); err != nil {
			if errs.CodeOf(err) == errs.Internal {
				return nil, nil, err
			}
			ds[i].out = outcome{err: err}
			continue
		}
		if h.Region != r.inst.Region {
			ds[i].out = outcome{err: errOtherRegion}
			continue
		}
		m := monthOf(r.v.date)
		if !insured[m][h.PersonID] {
			ds[i].out = outcome{err: notInsured(m)}
			continue
		}
		rm := regionMonth{r.inst.Region, m}
		if _, ok := rules[rm]; !ok && ruleErr[rm] == nil {
			rules[rm], ruleErr[rm] = s.rules(ctx, tx, rm.region, m)
			if ruleErr[rm] != nil && errs.CodeOf(ruleErr[rm]) == errs.Internal {
				return nil, nil, ruleErr[rm]
			}
		}
		if ruleErr[rm] != nil {
			ds[i].out = outcome{err: ruleErr[rm]}
			continue
		}
		yk := yearKey{r.inst.Region, h.PersonID, r.v.year}
		acct := ledger.PersonAccount(r.inst.Region, ledger.PersonMedical, h.PersonID)
		used, balance := years[yk], balances[acct]
		split := Compute(SplitInput{Kind: r.v.kind, Level: r.inst.Level, Items: r.v.items, Rules: rules[rm], Used: used, AccountBalance: balance, UseAccount: r.v.useAccount})
		counters.Take(proofs[i])
		counted := split.counted(r.v.kind)
		years[yk] = Used{used.OutpatientDeductible + counted.OutpatientDeductible, used.OutpatientPool + counted.OutpatientPool, used.InpatientPool + counted.InpatientPool}
		balances[acct] = balance - split.Account
		st := newSettlement(r.by, r.inst, r.v, h.Holder, split, balance, 0, tx.Now)
		ds[i].st, ds[i].used, ds[i].yearRef = &st, counted, yk
	}
	if err := s.writeTogether(ctx, tx, reqs, ds, counters, created); err != nil {
		return nil, nil, err
	}
	outs := make([]outcome, len(ds))
	alone := make([]bool, len(ds))
	for i, d := range ds {
		if d.st != nil {
			d.out = outcome{v: *d.st}
		}
		outs[i], alone[i] = d.out, d.alone
	}
	return outs, alone, nil
}

// writeTogether numbers and writes the decided settlements.
func (s *Service) writeTogether(ctx context.Context, tx *db.Tx, reqs []*cardRequest, ds []decided, counters *keys.Counters, created map[yearKey]bool) error {
	var todo []int
	perRegion := map[string]int{}
	for i, d := range ds {
		if d.st != nil {
			todo = append(todo, i)
			perRegion[d.st.Region]++
			delete(created, d.yearRef)
		}
	}
	// A year row made for a settlement that was then refused goes again, as its savepoint would
	// have taken it in settle.
	for k := range created {
		if _, err := tx.ExecContext(ctx, "DELETE FROM medical_years WHERE region = $1 AND person_id = $2 AND year = $3", k.region, k.person, k.year); err != nil {
			return fmt.Errorf("settle: year counters: %w", err)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	next := map[string]int64{}
	for region, n := range perRegion {
		first, err := nextSeq(ctx, tx, region, n)
		if err != nil {
			return err
		}
		next[region] = first
	}
	var entries []ledger.Entry
	var withEntry []int
	for _, i := range todo {
		st := ds[i].st
		st.ID = settlementID(st.Region, next[st.Region])
		next[st.Region]++
		if e, ok := st.entry(); ok {
			entries = append(entries, e)
			withEntry = append(withEntry, i)
		}
	}
	ids, err := ledger.PostMany(ctx, tx, entries)
	if err != nil {
		return err
	}
	for k, i := range withEntry {
		ds[i].st.EntryID = ids[k]
	}
	sts := make([]Settlement, len(todo))
	keys, hashes := make([]string, len(todo)), make([]string, len(todo))
	changes := make([]audit.Change, len(todo))
	years := map[yearKey]Used{}
	for k, i := range todo {
		sts[k], keys[k], hashes[k] = *ds[i].st, ds[i].key, reqs[i].v.hash
		changes[k] = ds[i].st.audited(reqs[i].by)
		u := years[ds[i].yearRef]
		c := ds[i].used
		years[ds[i].yearRef] = Used{u.OutpatientDeductible + c.OutpatientDeductible, u.OutpatientPool + c.OutpatientPool, u.InpatientPool + c.InpatientPool}
	}
	if err := insertSettlements(ctx, tx, sts, keys, hashes); err != nil {
		return err
	}
	if s.failTogether != nil {
		if err := s.failTogether(); err != nil {
			return err
		}
	}
	if err := addYears(ctx, tx, years); err != nil {
		return err
	}
	if err := counters.Save(ctx, tx); err != nil {
		return err
	}
	return audit.RecordMany(ctx, tx, changes)
}

type priorKey struct {
	seq  int64
	hash string
}

// priorKeys finds the settlements made before under the requests' idempotency keys, by
// institution and key.
func priorKeys(ctx context.Context, tx *db.Tx, reqs []*cardRequest) (map[[2]string]priorKey, error) {
	out := map[[2]string]priorKey{}
	byRegion := map[string][][]any{}
	for _, r := range reqs {
		byRegion[r.inst.Region] = append(byRegion[r.inst.Region], []any{r.inst.Code, strings.TrimSpace(r.r.IdemKey)})
	}
	for region, pairs := range byRegion {
		for start := 0; start < len(pairs); start += 400 {
			from, args := db.Values(2, []string{db.Text, db.Text}, pairs[start:min(start+400, len(pairs))])
			q := "SELECT v.column1, v.column2, s.seq, s.request_hash FROM " + from +
				" JOIN settlements s ON s.region = $1 AND s.institution_code = v.column1 AND s.idem_key = v.column2"
			if err := db.EachRow(ctx, tx, func(scan func(...any) error) error {
				var code, key string
				var p priorKey
				if err := scan(&code, &key, &p.seq, &p.hash); err != nil {
					return err
				}
				out[[2]string{code, key}] = p
				return nil
			}, q, append([]any{region}, args...)...); err != nil {
				return nil, fmt.Errorf("settle: idempotency keys: %w", err)
			}
		}
	}
	return out, nil
}

// yearsUsed reads, and locks for the rest of tx, the year counters of years' keys into it, making
// the missing rows first (as yearUsed does for one); it returns the keys of the rows it made.
func yearsUsed(ctx context.Context, tx *db.Tx, years map[yearKey]Used) (map[yearKey]bool, error) {
	created := map[yearKey]bool{}
	if len(years) == 0 {
		return created, nil
	}
	ks := make([]yearKey, 0, len(years))
	for k := range years {
		ks = append(ks, k)
	}
	slices.SortFunc(ks, func(a, b yearKey) int { // rows locked in one order
		if c := strings.Compare(a.region, b.region); c != 0 {
			return c
		}
		if a.year != b.year {
			return a.year - b.year
		}
		return int(a.person - b.person)
	})
	in := tx.Inserter("medical_years", "region", "person_id", "year").SkipConflicts("region, person_id, year").
		Returning("region, person_id, year", func(rows *sql.Rows) error {
			var k yearKey
			if err := rows.Scan(&k.region, &k.person, &k.year); err != nil {
				return err
			}
			created[k] = true
			return nil
		})
	for _, k := range ks {
		if err := in.Add(ctx, k.region, k.person, k.year); err != nil {
			return nil, fmt.Errorf("settle: year counters: %w", err)
		}
	}
	if err := in.Close(ctx); err != nil {
		return nil, fmt.Errorf("settle: year counters: %w", err)
	}
	for start := 0; start < len(ks); {
		// One query per region and year, at most 500 persons each.
		end := start + 1
		for end < len(ks) && end-start < 500 && ks[end].region == ks[start].region && ks[end].year == ks[start].year {
			end++
		}
		chunk := ks[start:end]
		persons := make([]int64, len(chunk))
		for i, k := range chunk {
			persons[i] = k.person
		}
		in, ids := db.In(tx.Dialect, 3, persons)
		q := `SELECT person_id, outpatient_deductible_used, outpatient_pool_paid, inpatient_pool_paid FROM medical_years
			WHERE region = $1 AND year = $2 AND person_id ` + in + tx.ForUpdate()
		args := append([]any{chunk[0].region, chunk[0].year}, ids...)
		if err := db.EachRow(ctx, tx, func(scan func(...any) error) error {
			var person, d, op, ip int64
			if err := scan(&person, &d, &op, &ip); err != nil {
				return err
			}
			years[yearKey{chunk[0].region, person, chunk[0].year}] = Used{OutpatientDeductible: money.Fen(d), OutpatientPool: money.Fen(op), InpatientPool: money.Fen(ip)}
			return nil
		}, q, args...); err != nil {
			return nil, fmt.Errorf("settle: year counters: %w", err)
		}
		start = end
	}
	return created, nil
}

// addYears adds what settlements counted to their persons' year counters, one statement for all.
func addYears(ctx context.Context, tx *db.Tx, years map[yearKey]Used) error {
	var ks []yearKey
	for k, u := range years {
		if u != (Used{}) {
			ks = append(ks, k)
		}
	}
	for start := 0; start < len(ks); start += 300 {
		chunk := ks[start:min(start+300, len(ks))]
		rows := make([][]any, len(chunk))
		for i, k := range chunk {
			u := years[k]
			rows[i] = []any{k.region, k.person, int64(k.year), int64(u.OutpatientDeductible), int64(u.OutpatientPool), int64(u.InpatientPool)}
		}
		from, args := db.Values(1, []string{db.Text, db.BigInt, db.BigInt, db.BigInt, db.BigInt, db.BigInt}, rows)
		q := `UPDATE medical_years SET outpatient_deductible_used = outpatient_deductible_used + v.column4,
			outpatient_pool_paid = outpatient_pool_paid + v.column5, inpatient_pool_paid = inpatient_pool_paid + v.column6 FROM ` + from + `
			WHERE medical_years.region = v.column1 AND medical_years.person_id = v.column2 AND medical_years.year = v.column3`
		res, err := tx.ExecContext(ctx, q, args...)
		if err != nil {
			return fmt.Errorf("settle: year counters: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n != int64(len(chunk)) {
			return fmt.Errorf("settle: year counters: %d of %d moved: %v", n, len(chunk), err)
		}
	}
	return nil
}

func hexID(id [16]byte) string { return apdu.FormatCardID(id) }
