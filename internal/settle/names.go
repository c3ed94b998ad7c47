package settle

import (
	"context"
	"database/sql"
	"errors"

	"github.com/shebao/shebao/internal/errs"
)

// InstitutionName is a designated institution's name by its code, for receipts and lists: a
// resident's own settlements name the hospital that made them. The list of designated
// institutions is public (the bureau publishes it), so no principal is needed; nothing else about
// the institution is read here.
func (s *Service) InstitutionName(ctx context.Context, code string) (string, error) {
	var name string
	err := s.db.R().QueryRowContext(ctx, `SELECT i.name FROM institution_codes c JOIN institutions i ON i.region = c.region AND i.code = c.code
		WHERE c.code = $1`, code).Scan(&name)
	if errors.Is(err, sql.ErrNoRows) {
		return "", errs.E(errs.NotFound, "no institution %q", clip(code))
	}
	return name, err
}
