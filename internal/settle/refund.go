package settle

import (
	"context"
	"strings"
	"time"

	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/ledger"
)

// Refund reverses a whole settlement, once (退费, 撤销结算): the ledger entry is reversed and the
// year's counters get back what it counted. A partial refund is a refund followed by a new
// settlement of what remains, as hospital systems do it. The same key again answers the first
// answer; another key finds it refunded.
func (s *Service) Refund(ctx context.Context, by *auth.Principal, id, idemKey string) (Settlement, error) {
	if err := by.Require(auth.Settle); err != nil {
		return Settlement{}, err
	}
	idemKey = strings.TrimSpace(idemKey)
	if idemKey == "" || len(idemKey) > 100 {
		return Settlement{}, errs.Field("idempotency_key", "required: 1–100 characters, the same on every retry")
	}
	inst, err := s.operated(ctx, by)
	if err != nil {
		return Settlement{}, err
	}
	region, seq, err := ParseID(id)
	if err != nil {
		return Settlement{}, err
	}
	out, err := s.do(ctx, func(ctx context.Context, tx *db.Tx) (any, error) {
		var institution, key string
		if err := tx.QueryRowContext(ctx, "SELECT institution_code, refund_key FROM settlements WHERE region = $1 AND seq = $2"+tx.ForUpdate(),
			region, seq).Scan(&institution, &key); err != nil || institution != inst.Code {
			return nil, errs.E(errs.NotFound, "no settlement %s", id)
		}
		st, err := loadSettlement(ctx, tx, region, seq)
		if err != nil {
			return nil, err
		}
		if key != "" {
			if key == idemKey {
				st.Replay = true
				return st, nil
			}
			return nil, errs.E(errs.Conflict, "settlement %s was refunded already", id)
		}
		var reversal int64
		if st.EntryID != 0 {
			res, err := ledger.Reverse(ctx, tx, st.EntryID, "refund:"+st.ID, "refund")
			if err != nil {
				return nil, err
			}
			reversal = res.EntryID
		}
		if err := addUsed(ctx, tx, region, st.PersonID, st.Date.Year(), st.Split.counted(st.Kind), -1); err != nil {
			return nil, err
		}
		if _, err := tx.ExecContext(ctx, "UPDATE settlements SET refund_key = $1, refund_entry_id = $2, refunded_by = $3, refunded_at = $4 WHERE region = $5 AND seq = $6",
			idemKey, nullID(reversal), by.Username, db.FormatTime(tx.Now), region, seq); err != nil {
			return nil, err
		}
		st.RefundedAt, st.RefundedBy = tx.Now.Truncate(time.Microsecond), by.Username
		return st, audit.Record(ctx, tx, by.Actor(), "settlement.refund", "settlement:"+st.ID, region,
			map[string]string{"total": st.Split.Total.String(), "pool": st.Split.Pool.String(), "account": st.Split.Account.String()})
	})
	if err != nil {
		return Settlement{}, err
	}
	return out.(Settlement), nil
}
