package settle

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/errs"
)

// Query selects settlements for a list. A list is ordered newest first and is read page by page:
// After is the id the previous page ended with.
type Query struct {
	Institution string    // "" = any the principal may read
	PersonID    int64     // 0 = anyone
	From, To    time.Time // settlement dates, inclusive; zero = open
	After       string
	Limit       int
}

// MaxList bounds a page.
const MaxList = 200

// List returns one page of the settlements the principal may read: an institution's operator its
// institution's, a resident their own, the bureau those of its regions.
func (s *Service) List(ctx context.Context, by *auth.Principal, q Query) ([]Settlement, error) {
	switch {
	case by.Role == auth.Resident:
		if err := by.Require(auth.OwnMedical); err != nil {
			return nil, err
		}
		q.PersonID = by.PersonID
	case by.Role == auth.Institution:
		q.Institution = by.InstitutionCode
		fallthrough
	default:
		if err := by.Require(auth.ReadSettlements); err != nil {
			return nil, err
		}
	}
	if q.Limit <= 0 || q.Limit > MaxList {
		q.Limit = MaxList
	}
	var where []string
	var args []any
	arg := func(v any) string { args = append(args, v); return "$" + itoa(len(args)) }
	regions := slices.Sorted(slices.Values(by.Regions))
	if q.After != "" {
		region, seq, err := ParseID(q.After)
		if err != nil || !slices.Contains(regions, region) {
			return nil, errs.Field("cursor", "not a cursor of this list")
		}
		regions = regions[slices.Index(regions, region):]
		where = append(where, "s.seq < "+arg(seq))
	}
	if len(regions) == 0 {
		return nil, nil
	}
	// One region at a time: every query of a business is scoped to one region (SPEC 6.4). A
	// principal of several regions pages through them in order.
	var out []Settlement
	for _, region := range regions {
		if !by.InRegion(region) {
			continue
		}
		w := append([]string{"s.region = " + arg(region)}, where...)
		if q.Institution != "" {
			w = append(w, "s.institution_code = "+arg(q.Institution))
		}
		if q.PersonID != 0 {
			w = append(w, "s.person_id = "+arg(q.PersonID))
		}
		if !q.From.IsZero() {
			w = append(w, "s.settled_on >= "+arg(q.From.Format("2006-01-02")))
		}
		if !q.To.IsZero() {
			w = append(w, "s.settled_on <= "+arg(q.To.Format("2006-01-02")))
		}
		err := db.EachRow(ctx, s.db.R(), func(scan func(...any) error) error {
			st, err := scanSettlement(scanRow(scan))
			if err != nil {
				return err
			}
			out = append(out, st)
			return nil
		}, "SELECT "+settlementColumns+settlementFrom+"WHERE "+strings.Join(w, " AND ")+" ORDER BY s.seq DESC LIMIT "+arg(q.Limit-len(out)), args...)
		if err != nil {
			return nil, err
		}
		if len(out) >= q.Limit {
			break
		}
		where, args = nil, nil // the cursor applies to its own region only
	}
	return out, nil
}

func itoa(n int) string {
	const digits = "0123456789"
	if n < 10 {
		return digits[n : n+1]
	}
	return itoa(n/10) + digits[n%10:n%10+1]
}
