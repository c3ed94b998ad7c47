package card

import (
	"context"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/ident"
	"github.com/shebao/shebao/internal/period"
)

// Search finds the cards of the principal's regions for the card desk, newest first, by what the
// person at the window presents: an ID number (every card of that person), a card number or an
// application number (that card), or else the start of a name. state, when given, narrows the
// list. The query names one field only, decided by its shape, so each search uses one index
// instead of an OR across all of them.
func (s *Service) Search(ctx context.Context, by *auth.Principal, q string, state State, limit int) ([]Card, error) {
	if err := by.Require(auth.ReadCard); err != nil {
		return nil, err
	}
	if limit < 1 || limit > 1000 {
		limit = 200
	}
	q = strings.TrimSpace(q)
	if q == "" {
		return s.List(ctx, by, state, limit)
	}
	if utf8.RuneCountInString(q) > 40 {
		return nil, errs.Field("q", "at most 40 characters")
	}
	// $1 the region, $2 the state or "", then the query's own values.
	var where string
	var args []any
	upper := strings.ToUpper(q)
	if n, err := ident.ParseIDNumber(upper, period.Today(s.now())); err == nil {
		where, args = "p.id_number = $3", []any{string(n)}
	} else if isCode(upper) {
		where, args = "(c.card_number = $3 OR c.application_no = $3)", []any{upper}
	} else {
		where, args = "substr(p.name, 1, $4) = $3", []any{q, utf8.RuneCountInString(q)}
	}
	var out []Card
	for _, region := range by.Regions {
		cs, err := queryCards(ctx, s.db.R(), "WHERE c.region = $1 AND ($2 = '' OR c.state = $2) AND "+where+" ORDER BY c.id DESC LIMIT "+strconv.Itoa(limit),
			append([]any{region, string(state)}, args...)...)
		if err != nil {
			return nil, err
		}
		out = append(out, cs...)
	}
	return out, nil
}

// isCode reports whether q has the shape of a card or application number: capital letters and
// digits only, with at least one digit.
func isCode(q string) bool {
	digit := false
	for _, c := range q {
		switch {
		case '0' <= c && c <= '9':
			digit = true
		case 'A' <= c && c <= 'Z':
		default:
			return false
		}
	}
	return digit
}
