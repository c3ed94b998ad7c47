package transfer

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/money"
	"github.com/shebao/shebao/internal/period"
)

// The messages' bodies, as JSON in the outbox.
type requestBody struct {
	PersonID int64  `json:"person_id"`
	IDNumber string `json:"id_number"`
}

type monthBase struct {
	Month period.Month `json:"month"`
	Base  int64        `json:"base"`
}

type fundsMsg struct {
	Temporary      bool           `json:"temporary_account"`
	PensionAccount int64          `json:"pension_account"`
	PensionPooled  int64          `json:"pension_pooled"`
	PooledBases    int64          `json:"pooled_bases"`
	MedicalAccount int64          `json:"medical_account"`
	Pension        []monthBase    `json:"pension_months"`
	Medical        []period.Month `json:"medical_months"`
	Unemployment   []period.Month `json:"unemployment_months"`
}

func fundsBody(a Amounts) fundsMsg {
	m := fundsMsg{Temporary: a.Temporary, PensionAccount: int64(a.PensionAccount), PensionPooled: int64(a.PensionPooled),
		PooledBases: int64(a.PooledBases), MedicalAccount: int64(a.MedicalAccount), Medical: a.MedicalMonths, Unemployment: a.UnemploymentMonths}
	for _, mo := range a.PensionMonths {
		m.Pension = append(m.Pension, monthBase{mo, int64(a.pensionBases[mo])})
	}
	return m
}

func (m fundsMsg) amounts() Amounts {
	a := Amounts{Temporary: m.Temporary, PensionAccount: money.Fen(m.PensionAccount), PensionPooled: money.Fen(m.PensionPooled),
		PooledBases: money.Fen(m.PooledBases), MedicalAccount: money.Fen(m.MedicalAccount), MedicalMonths: m.Medical,
		UnemploymentMonths: m.Unemployment, pensionBases: map[period.Month]money.Fen{}}
	for _, p := range m.Pension {
		a.PensionMonths = append(a.PensionMonths, p.Month)
		a.pensionBases[p.Month] = money.Fen(p.Base)
	}
	return a
}

type refusedBody struct {
	Reason string `json:"reason"`
}

// send writes a message from region to another into the outbox, in the transaction of the step
// that sends it.
func send(ctx context.Context, tx *db.Tx, from, to, no, kind string, body any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO transfer_messages(region, to_region, transfer_no, kind, body, created_at)
		VALUES($1, $2, $3, $4, $5, $6)`, from, to, no, kind, string(b), db.FormatTime(tx.Now))
	return err
}

// message is one message of the outbox.
type message struct {
	id           int64
	from, to, no string
	kind, body   string
}

// Deliver hands every message not yet delivered to its region, oldest first, and returns how many
// it delivered. Each message takes two transactions: the receiving region acts on it and records it
// in its inbox, then the sending region records it delivered. Stopped between the two, the message
// is delivered again and the inbox makes the second delivery a no-op. A message that cannot be
// acted on stops the delivery with its error, to be retried; later messages wait behind it, so that
// each transfer's messages are acted on in order.
func (s *Service) Deliver(ctx context.Context) (int, error) {
	// One delivery at a time in a process (a step's own request and the server's ticker may both
	// call it); another process's (one killed in the middle, whose transaction the database is
	// still ending) is met below.
	s.delivering.Lock()
	defer s.delivering.Unlock()
	n := 0
	for {
		var batch []message
		if err := db.EachRow(ctx, s.db.R(), func(scan func(...any) error) error {
			var m message
			err := scan(&m.id, &m.from, &m.to, &m.no, &m.kind, &m.body)
			batch = append(batch, m)
			return err
		}, `SELECT id, region, to_region, transfer_no, kind, body FROM transfer_messages WHERE delivered_at = '' ORDER BY id LIMIT 100`); err != nil {
			return n, fmt.Errorf("transfer: outbox: %w", err)
		}
		if len(batch) == 0 {
			return n, nil
		}
		for _, m := range batch {
			err := s.db.Write(ctx, func(tx *db.Tx) error { return take(ctx, tx, m) })
			if db.IsUniqueViolation(err) {
				// Another delivery of the same message committed first (its inbox row, or its
				// ledger entry, now exists): taken again, the inbox makes this one a no-op.
				err = s.db.Write(ctx, func(tx *db.Tx) error { return take(ctx, tx, m) })
			}
			if err != nil {
				return n, fmt.Errorf("transfer: %s %s to %s: %w", m.kind, m.no, m.to, err)
			}
			s.pause()
			if err := s.db.Write(ctx, func(tx *db.Tx) error {
				_, err := tx.ExecContext(ctx, "UPDATE transfer_messages SET delivered_at = $1 WHERE id = $2 AND region = $3",
					db.FormatTime(tx.Now), m.id, m.from)
				return err
			}); err != nil {
				return n, err
			}
			n++
			s.pause()
		}
	}
}

// Pause, when set, is waited between every two transactions of Deliver: the crash tests kill
// deliveries at random moments and need those moments to fall between the transactions too.
var Pause time.Duration

func (s *Service) pause() {
	if Pause > 0 {
		time.Sleep(Pause)
	}
}

// take is the receiving region's transaction for one message: acted on once, recorded in its inbox.
func take(ctx context.Context, tx *db.Tx, m message) error {
	var seen int
	if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM transfer_inbox WHERE region = $1 AND from_region = $2 AND message_id = $3",
		m.to, m.from, m.id).Scan(&seen); err != nil {
		return err
	}
	if seen > 0 {
		return nil
	}
	var err error
	switch m.kind {
	case msgRequest:
		err = takeRequest(ctx, tx, m)
	case msgFunds:
		err = takeFunds(ctx, tx, m)
	case msgReceived:
		err = takeReceived(ctx, tx, m)
	case msgRemitted:
		err = takeRemitted(ctx, tx, m)
	case msgRefused:
		err = takeRefused(ctx, tx, m)
	default:
		err = fmt.Errorf("unknown message kind %q", m.kind)
	}
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, "INSERT INTO transfer_inbox(region, from_region, message_id, transfer_no, kind, taken_at) VALUES($1, $2, $3, $4, $5, $6)",
		m.to, m.from, m.id, m.no, m.kind, db.FormatTime(tx.Now))
	return err
}

// system is the actor of the steps the regions take on messages.
var system = audit.Actor{Name: "transfer", Role: "system"}

// takeRequest is A receiving B's request: A computes what would move, for its reviewer; or refuses
// at once a request it cannot serve.
func takeRequest(ctx context.Context, tx *db.Tx, m message) error {
	var body requestBody
	if err := json.Unmarshal([]byte(m.body), &body); err != nil {
		return err
	}
	var region string
	if err := tx.QueryRowContext(ctx, "SELECT region FROM persons WHERE id = $1", body.PersonID).Scan(&region); err != nil {
		return err
	}
	now := db.FormatTime(tx.Now)
	insert := func(status Status, refusal string) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO transfers_out(region, no, to_region, person_id, status, received_at, computed_at, refusal, refused_at)
			VALUES($1, $2, $3, $4, $5, $6, $6, $7, $8)`, m.to, m.no, m.from, body.PersonID, string(status), now, refusal,
			map[bool]string{true: now}[status == Refused])
		return err
	}
	var open int
	if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM transfers_out WHERE region = $1 AND person_id = $2 AND status IN ('computed', 'sent')",
		m.to, body.PersonID).Scan(&open); err != nil {
		return err
	}
	switch {
	case region != m.to:
		reason := "the person is not insured in this region"
		if err := insert(Refused, reason); err != nil {
			return err
		}
		return send(ctx, tx, m.to, m.from, m.no, msgRefused, refusedBody{Reason: reason})
	case open > 0:
		reason := "a transfer of this person out of this region is under way already"
		if err := insert(Refused, reason); err != nil {
			return err
		}
		return send(ctx, tx, m.to, m.from, m.no, msgRefused, refusedBody{Reason: reason})
	}
	a, err := compute(ctx, tx, m.to, m.from, body.PersonID, tx.Now)
	if err != nil {
		return err
	}
	if err := insert(Computed, ""); err != nil {
		return err
	}
	if err := saveAmounts(ctx, tx, "transfers_out", m.to, m.no, a, true); err != nil {
		return err
	}
	return audit.Record(ctx, tx, system, "transfer.compute", "transfer:"+m.no, m.to, map[string]any{
		"to_region": m.from, "pension_account": a.PensionAccount.String(), "pension_pooled": a.PensionPooled.String(),
		"medical_account": a.MedicalAccount.String(), "temporary_account": a.Temporary})
}

// takeFunds is B receiving the money: the accounts credited from B's clearing account, the months
// recorded, the person's registration taken over; B tells A it has received.
func takeFunds(ctx context.Context, tx *db.Tx, m message) error {
	var body fundsMsg
	if err := json.Unmarshal([]byte(m.body), &body); err != nil {
		return err
	}
	a := body.amounts()
	t, err := loadIn(ctx, tx, m.no)
	if err != nil {
		return err
	}
	if t.InStatus != Accepted {
		return fmt.Errorf("funds for a transfer that is %s", t.InStatus)
	}
	if err := postIn(ctx, tx, m.to, m.from, m.no, t.PersonID, a); err != nil {
		return err
	}
	months := tx.Inserter("transferred_months", "region", "person_id", "insurance", "month", "base", "transfer_no").
		SkipConflicts("region, person_id, insurance, month")
	for _, mo := range a.PensionMonths {
		if err := months.Add(ctx, m.to, t.PersonID, "pension", int(mo), int64(a.pensionBases[mo]), m.no); err != nil {
			return err
		}
	}
	for ins, ms := range map[string][]period.Month{"medical": a.MedicalMonths, "unemployment": a.UnemploymentMonths} {
		for _, mo := range ms {
			if err := months.Add(ctx, m.to, t.PersonID, ins, int(mo), 0, m.no); err != nil {
				return err
			}
		}
	}
	if err := months.Close(ctx); err != nil {
		return err
	}
	// The national person record now names the region that holds the person's insurance.
	if _, err := tx.ExecContext(ctx, "UPDATE persons SET region = $1, updated_at = $2 WHERE id = $3", m.to, db.FormatTime(tx.Now), t.PersonID); err != nil {
		return err
	}
	if err := saveAmounts(ctx, tx, "transfers_in", m.to, m.no, a, false); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "UPDATE transfers_in SET status = $1, credited_at = $2 WHERE region = $3 AND no = $4",
		string(Credited), db.FormatTime(tx.Now), m.to, m.no); err != nil {
		return err
	}
	if err := send(ctx, tx, m.to, m.from, m.no, msgReceived, struct{}{}); err != nil {
		return err
	}
	return audit.Record(ctx, tx, system, "transfer.credit", "transfer:"+m.no, m.to, map[string]any{
		"from_region": m.from, "total": a.Total().String(), "pension_months": len(a.PensionMonths), "temporary_account": a.Temporary})
}

// takeReceived is A hearing that B has credited: A remits the money and is done.
func takeReceived(ctx context.Context, tx *db.Tx, m message) error {
	t, err := loadOut(ctx, tx, m.no)
	if err != nil {
		return err
	}
	if t.OutStatus != Sent {
		return fmt.Errorf("a receipt for a transfer that is %s", t.OutStatus)
	}
	if err := postRemittance(ctx, tx, m.to, m.from, m.no, "remit", -t.Amounts.Total()); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "UPDATE transfers_out SET status = $1, done_at = $2 WHERE region = $3 AND no = $4",
		string(Done), db.FormatTime(tx.Now), m.to, m.no); err != nil {
		return err
	}
	if err := send(ctx, tx, m.to, m.from, m.no, msgRemitted, struct{}{}); err != nil {
		return err
	}
	return audit.Record(ctx, tx, system, "transfer.remit", "transfer:"+m.no, m.to, map[string]any{"to_region": m.from, "total": t.Amounts.Total().String()})
}

// takeRemitted is B receiving the remittance: its clearing account is settled and the transfer done.
func takeRemitted(ctx context.Context, tx *db.Tx, m message) error {
	t, err := loadIn(ctx, tx, m.no)
	if err != nil {
		return err
	}
	if t.InStatus != Credited {
		return fmt.Errorf("a remittance for a transfer that is %s", t.InStatus)
	}
	if err := postRemittance(ctx, tx, m.to, m.from, m.no, "arrive", t.Amounts.Total()); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "UPDATE transfers_in SET status = $1, done_at = $2 WHERE region = $3 AND no = $4",
		string(Done), db.FormatTime(tx.Now), m.to, m.no); err != nil {
		return err
	}
	return audit.Record(ctx, tx, system, "transfer.done", "transfer:"+m.no, m.to, map[string]any{"from_region": m.from})
}

// takeRefused is B hearing that A refused.
func takeRefused(ctx context.Context, tx *db.Tx, m message) error {
	var body refusedBody
	if err := json.Unmarshal([]byte(m.body), &body); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "UPDATE transfers_in SET status = $1, refused_at = $2, refusal = $3 WHERE region = $4 AND no = $5",
		string(Refused), db.FormatTime(tx.Now), body.Reason, m.to, m.no); err != nil {
		return err
	}
	return audit.Record(ctx, tx, system, "transfer.refused", "transfer:"+m.no, m.to, map[string]any{"from_region": m.from, "reason": body.Reason})
}

// saveAmounts stores what moves on one side.
func saveAmounts(ctx context.Context, tx *db.Tx, table, region, no string, a Amounts, out bool) error {
	q := `UPDATE ` + table + ` SET temporary_account = $1, pension_account = $2, pension_pooled = $3, medical_account = $4,
		pension_months = $5, medical_months = $6, unemployment_months = $7`
	args := []any{a.Temporary, int64(a.PensionAccount), int64(a.PensionPooled), int64(a.MedicalAccount), len(a.PensionMonths),
		len(a.MedicalMonths), len(a.UnemploymentMonths)}
	if out {
		q += `, pooled_bases = $8, computed_at = $9 WHERE region = $10 AND no = $11`
		args = append(args, int64(a.PooledBases), db.FormatTime(tx.Now), region, no)
	} else {
		q += ` WHERE region = $8 AND no = $9`
		args = append(args, region, no)
	}
	_, err := tx.ExecContext(ctx, q, args...)
	return err
}

var errNoTransfer = errors.New("no such transfer")

// loadIn reads B's side of a transfer (B's region is in the number).
func loadIn(ctx context.Context, r db.Reader, no string) (Transfer, error) {
	var t Transfer
	var status, idn string
	var pa, pp, ma int64
	var pm, mm, um int
	err := r.QueryRowContext(ctx, `SELECT t.no, t.from_region, t.region, t.person_id, p.id_number, p.name, t.status, t.refusal, t.applied_by,
		t.accepted_by, t.temporary_account, t.pension_account, t.pension_pooled, t.medical_account, t.pension_months, t.medical_months,
		t.unemployment_months FROM transfers_in t JOIN persons p ON p.id = t.person_id WHERE t.region = $1 AND t.no = $2`,
		regionOfNo(no), no).Scan(&t.No, &t.FromRegion, &t.ToRegion, &t.PersonID, &idn, &t.Name, &status, &t.Refusal, &t.AppliedBy,
		&t.AcceptedBy, &t.Amounts.Temporary, &pa, &pp, &ma, &pm, &mm, &um)
	if errors.Is(err, sql.ErrNoRows) {
		return t, errNoTransfer
	}
	t.IDNumber, t.InStatus = identOf(idn), Status(status)
	t.Amounts.PensionAccount, t.Amounts.PensionPooled, t.Amounts.MedicalAccount = money.Fen(pa), money.Fen(pp), money.Fen(ma)
	t.Months = Months{Pension: pm, Medical: mm, Unemployment: um}
	return t, err
}

// loadOut reads A's side of a transfer.
func loadOut(ctx context.Context, r db.Reader, no string) (Transfer, error) {
	var t Transfer
	var status string
	var pa, pp, pb, ma int64
	var pm, mm, um int
	err := r.QueryRowContext(ctx, `SELECT no, region, to_region, person_id, status, refusal, approved_by, temporary_account, pension_account,
		pension_pooled, pooled_bases, medical_account, pension_months, medical_months, unemployment_months
		FROM transfers_out WHERE no = $1`, no).Scan(&t.No, &t.FromRegion, &t.ToRegion, &t.PersonID, &status, &t.Refusal, &t.ApprovedBy,
		&t.Amounts.Temporary, &pa, &pp, &pb, &ma, &pm, &mm, &um)
	if errors.Is(err, sql.ErrNoRows) {
		return t, errNoTransfer
	}
	t.OutStatus = Status(status)
	t.Amounts.PensionAccount, t.Amounts.PensionPooled, t.Amounts.PooledBases, t.Amounts.MedicalAccount = money.Fen(pa), money.Fen(pp), money.Fen(pb), money.Fen(ma)
	t.Months = Months{Pension: pm, Medical: mm, Unemployment: um}
	return t, err
}

// regionOfNo is the receiving region a transfer number names: "ZY" + region + date + suffix.
func regionOfNo(no string) string {
	if len(no) < 8 {
		return ""
	}
	return no[2:8]
}
