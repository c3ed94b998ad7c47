package card

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"strings"
	"time"

	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/ident"
	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/sheet"
)

// personFor finds the person an application is for and checks the principal may apply for them:
// residents for themselves, employers for their current staff, clerks within their regions.
func (s *Service) personFor(ctx context.Context, tx *db.Tx, by *auth.Principal, idNumber string) (int64, string, error) {
	n, err := ident.ParseIDNumber(idNumber, period.Today(s.now()))
	if err != nil {
		return 0, "", errs.Field("id_number", err.Error())
	}
	var id int64
	var region string
	if err := tx.QueryRowContext(ctx, "SELECT id, region FROM persons WHERE id_number = $1", string(n)).Scan(&id, &region); err != nil {
		return 0, "", errs.Field("id_number", "no person with this ID number is registered")
	}
	switch {
	case by.Role == auth.Resident && by.PersonID != id:
		return 0, "", errs.Field("id_number", "residents apply for their own card")
	case by.Role == auth.Employer:
		var n int
		if err := tx.QueryRowContext(ctx, "SELECT COUNT(*) FROM staff WHERE employer_id = $1 AND person_id = $2 AND end_month = 0", by.EmployerID, id).Scan(&n); err != nil {
			return 0, "", err
		}
		if n == 0 {
			return 0, "", errs.Field("id_number", "not on your staff")
		}
	case by.Role != auth.Resident && !by.InRegion(region):
		return 0, "", errs.Field("id_number", "registered in another region")
	}
	return id, region, nil
}

// Apply records an application for a social security card. The person must be insured now, and
// may have no other card in use or on its way.
func (s *Service) Apply(ctx context.Context, by *auth.Principal, idNumber string) (Card, error) {
	var c Card
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		personID, region, err := s.personFor(ctx, tx, by, idNumber)
		if err != nil {
			return err
		}
		c, err = s.insertApplication(ctx, tx, by, personID, region, 0)
		return err
	})
	return c, err
}

func (s *Service) insertApplication(ctx context.Context, tx *db.Tx, by *auth.Principal, personID int64, region string, replaces int64) (Card, error) {
	to, role, err := roleFor(by, &Card{State: None}, Apply)
	if err != nil {
		return Card{}, err
	}
	month := int(period.MonthOf(tx.Now))
	var insured int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM participations WHERE person_id = $1 AND start_month <= $2 AND (end_month = 0 OR end_month >= $2)`,
		personID, month).Scan(&insured); err != nil {
		return Card{}, err
	}
	if insured == 0 {
		return Card{}, errs.Field("id_number", "the person has no active insurance; a card is issued to insured persons")
	}
	var live int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM cards WHERE person_id = $1 AND kind = 'social_security'
		AND state IN ('applied', 'approved', 'in_production', 'produced', 'at_outlet', 'collected', 'active', 'temporarily_lost')`, personID).Scan(&live); err != nil {
		return Card{}, err
	}
	if live > 0 {
		return Card{}, errs.E(errs.Conflict, "the person already has a social security card in use or on its way")
	}
	channel := map[auth.Role]string{auth.Resident: "online", auth.Employer: "employer", auth.Clerk: "window"}[role]
	now := db.FormatTime(tx.Now)
	var id int64
	var appNo string
	for attempt := 0; ; attempt++ {
		appNo = applicationNumber(region, tx.Now)
		err := tx.QueryRowContext(ctx, `INSERT INTO cards(region, person_id, kind, application_no, state, channel, applied_by, applied_at, state_at, replaces_id)
			VALUES($1, $2, 'social_security', $3, $4, $5, $6, $7, $7, $8) RETURNING id`,
			region, personID, appNo, string(to), channel, by.Username, now, nullID(replaces)).Scan(&id)
		if err == nil {
			break
		}
		if !db.IsUniqueViolation(err) || attempt > 3 {
			if db.IsUniqueViolation(err) {
				return Card{}, errs.E(errs.Conflict, "the person already has a social security card in use or on its way")
			}
			return Card{}, fmt.Errorf("card: apply: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO card_events(card_id, action, from_state, to_state, actor, role, reason, at)
		VALUES($1, 'apply', '', 'applied', $2, $3, '', $4)`, id, by.Username, string(role), now); err != nil {
		return Card{}, err
	}
	if err := audit.Record(ctx, tx, by.Actor(), "card.apply", "card:"+appNo, region, map[string]any{"channel": channel, "replaces": replaces}); err != nil {
		return Card{}, err
	}
	return loadCard(ctx, tx, id, "")
}

// applicationNumber is the region, the date and eight random digits: printable on a receipt and
// not guessable, because with the ID number it opens the public progress inquiry.
func applicationNumber(region string, t time.Time) string {
	n, _ := rand.Int(rand.Reader, big.NewInt(100_000_000))
	return fmt.Sprintf("%s%s%08d", region, period.Today(t).Format("20060102"), n.Int64())
}

func nullID(id int64) any {
	if id == 0 {
		return nil
	}
	return id
}

// Approve accepts an application after its photo is checked; an application without a photo
// cannot be approved (the card face needs it). The approver is a second person: independent of
// whoever applied and whoever gave the photo (auth.Independent).
func (s *Service) Approve(ctx context.Context, by *auth.Principal, id int64) (Card, error) {
	var c Card
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		var kind, appliedBy, photoBy string
		if err := tx.QueryRowContext(ctx, "SELECT photo_type, applied_by, photo_by FROM cards WHERE id = $1", id).Scan(&kind, &appliedBy, &photoBy); err == nil {
			if cur, err := loadCard(ctx, tx, id, ""); err == nil && mayAct(by, &cur) == nil && cur.State == Applied {
				if kind == "" {
					return errs.E(errs.Conflict, "the application has no photo yet")
				}
				if err := auth.Independent(ctx, tx, by.Username, appliedBy, photoBy); err != nil {
					return err
				}
			}
		}
		var err error
		c, err = s.step(ctx, tx, by, id, Approve, "", nil)
		return err
	})
	return c, err
}

// Reject refuses an application with a reason.
func (s *Service) Reject(ctx context.Context, by *auth.Principal, id int64, reason string) (Card, error) {
	if strings.TrimSpace(reason) == "" {
		return Card{}, errs.Field("reason", "required")
	}
	return s.simple(ctx, by, id, Reject, reason)
}

func (s *Service) simple(ctx context.Context, by *auth.Principal, id int64, a Action, reason string) (Card, error) {
	var c Card
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		var err error
		c, err = s.step(ctx, tx, by, id, a, strings.TrimSpace(reason), nil)
		return err
	})
	return c, err
}

// Batch is a production batch.
type Batch struct {
	ID        int64
	Region    string
	State     string
	Cards     int
	CreatedAt time.Time
}

// CreateBatch gathers every approved application of the region into a production batch, gives each
// a card number, and sends them to the manufacturer (the batch's manufacturer file).
func (s *Service) CreateBatch(ctx context.Context, by *auth.Principal, region string) (Batch, error) {
	if !by.InRegion(region) {
		return Batch{}, errs.Field("region", "not one of your regions")
	}
	var b Batch
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		rows, err := tx.QueryContext(ctx, "SELECT id FROM cards WHERE region = $1 AND state = 'approved' ORDER BY id LIMIT $2", region, MaxBatch)
		if err != nil {
			return err
		}
		var ids []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		rows.Close()
		if len(ids) == 0 {
			return errs.E(errs.Conflict, "no approved application waits for production")
		}
		if err := tx.QueryRowContext(ctx, "INSERT INTO card_batches(region, created_by, created_at, state, cards) VALUES($1, $2, $3, 'sent', $4) RETURNING id",
			region, by.Username, db.FormatTime(tx.Now), len(ids)).Scan(&b.ID); err != nil {
			return err
		}
		var last int64
		if err := tx.QueryRowContext(ctx, "SELECT last FROM card_sequence WHERE id = 1"+tx.ForUpdate()).Scan(&last); err != nil {
			return err
		}
		for _, id := range ids {
			last++
			number, err := ident.MakeCardNumber(fmt.Sprintf("%08d", last))
			if err != nil {
				return err
			}
			if _, err := s.step(ctx, tx, by, id, SendToMaker, "", map[string]any{"batch_id": b.ID, "card_number": string(number)}); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, "UPDATE card_sequence SET last = $1 WHERE id = 1", last); err != nil {
			return err
		}
		b = Batch{ID: b.ID, Region: region, State: "sent", Cards: len(ids), CreatedAt: tx.Now}
		return audit.Record(ctx, tx, by.Actor(), "card.batch", fmt.Sprintf("batch:%d", b.ID), region, map[string]any{"cards": len(ids)})
	})
	return b, err
}

// ManufacturerFile is the batch's file for the card manufacturer: one line per card with what is
// printed on it and written to its chip. It carries no key: the manufacturer's personalisation
// equipment holds the issuer keys it received by a dual-controlled export, and diversifies each
// card's keys from the card identification code itself. Columns: application_no, card_number,
// id_number, name, gender (1 male, 2 female), birth_date, region. It is written by sheet.WriteCSV
// (UTF-8 with a BOM, CRLF lines), so a name that would start a formula in the spreadsheet someone
// opens it in is written with a leading apostrophe.
func (s *Service) ManufacturerFile(ctx context.Context, by *auth.Principal, batchID int64) ([]byte, error) {
	rows, err := s.db.R().QueryContext(ctx, "SELECT "+cardColumns+cardFrom+"WHERE c.batch_id = $1 ORDER BY c.id", batchID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var lines [][]string
	for rows.Next() {
		c, err := scanCard(rows)
		if err != nil {
			return nil, err
		}
		if err := mayAct(by, &c); err != nil {
			return nil, err
		}
		g := "1"
		if c.IDNumber.Gender() == ident.Female {
			g = "2"
		}
		lines = append(lines, []string{c.ApplicationNo, c.CardNumber, string(c.IDNumber), c.Name, g, c.IDNumber.BirthDate().Format("2006-01-02"), c.Region})
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(lines) == 0 {
		return nil, errs.E(errs.NotFound, "no such batch")
	}
	var b bytes.Buffer
	if err := sheet.WriteCSV(&b, manufacturerHeader, lines); err != nil {
		return nil, fmt.Errorf("card: manufacturer file: %w", err)
	}
	return b.Bytes(), nil
}

// manufacturerHeader names the manufacturer file's columns.
var manufacturerHeader = []string{"application_no", "card_number", "id_number", "name", "gender", "birth_date", "region"}

var hexRE = regexp.MustCompile(`^[0-9A-F]+$`)

// ResultProblem is a bad line of a manufacturer's result file.
type resultLine struct {
	line   int
	appNo  string
	number string
	serial string
	atr    string
}

// MaxBatch is the most applications one production batch gathers.
const MaxBatch = 10_000

// ResultLimits bound the manufacturer's result file: a header and a line per card of the batch,
// four short columns.
var ResultLimits = sheet.Limits{MaxBytes: 4 << 20, MaxRows: MaxBatch, MaxCols: 4, MaxCell: 100}

// ImportResult reads the manufacturer's result file for a batch — application_no, card_number,
// chip_serial (8 hex digits), atr (hex) per line, after a header line — and marks the cards
// produced. Every bad line is reported; nothing is applied unless every line is good and every
// card of the batch is present.
func (s *Service) ImportResult(ctx context.Context, by *auth.Principal, batchID int64, data []byte) (int, error) {
	lines, problems, end, err := parseResult(data)
	if err != nil {
		return 0, err
	}
	applied := 0
	err = s.db.Write(ctx, func(tx *db.Tx) error {
		var region, state string
		if err := tx.QueryRowContext(ctx, "SELECT region, state FROM card_batches WHERE id = $1"+tx.ForUpdate(), batchID).Scan(&region, &state); err != nil || !by.InRegion(region) {
			return errs.E(errs.NotFound, "no such batch")
		}
		if state != "sent" {
			return errs.E(errs.Conflict, "the batch's result was already imported")
		}
		cards := map[string]Card{}
		rows, err := tx.QueryContext(ctx, "SELECT "+cardColumns+cardFrom+"WHERE c.batch_id = $1", batchID)
		if err != nil {
			return err
		}
		for rows.Next() {
			c, err := scanCard(rows)
			if err != nil {
				rows.Close()
				return err
			}
			cards[c.ApplicationNo] = c
		}
		rows.Close()
		seen := map[string]int{}
		for _, l := range lines {
			c, ok := cards[l.appNo]
			switch {
			case !ok:
				problems.Add(errs.RowProblem{Line: l.line, Column: "A", Field: "application_no", Reason: "not in this batch"})
			case seen[l.appNo] != 0:
				problems.Add(errs.RowProblem{Line: l.line, Column: "A", Field: "application_no", Reason: fmt.Sprintf("already on line %d", seen[l.appNo])})
			case c.CardNumber != l.number:
				problems.Add(errs.RowProblem{Line: l.line, Column: "B", Field: "card_number", Reason: "not the number assigned to this application"})
			case c.State != InProduction:
				problems.Add(errs.RowProblem{Line: l.line, Column: "A", Field: "application_no", Reason: "the card is " + string(c.State)})
			}
			seen[l.appNo] = l.line
		}
		if problems.Lines == 0 && len(seen) != len(cards) {
			problems.Add(errs.RowProblem{Line: end, Reason: fmt.Sprintf("the file has %d of the batch's %d cards", len(seen), len(cards))})
		}
		if err := problems.Err(fmt.Sprintf("%d lines of the result file have problems; nothing was imported", problems.Lines)); err != nil {
			return err
		}
		rules, err := s.rules(ctx, tx, region)
		if err != nil {
			return err
		}
		version := 0
		if s.keys != nil {
			if ks, err := s.keys.List(ctx, region); err == nil {
				for _, k := range ks {
					if k.Purpose == "internal_auth" && k.Status == "active" {
						version = k.Version
					}
				}
			}
		}
		valid := db.FormatTime(tx.Now.AddDate(rules.ValidityYears, 0, 0))
		for _, l := range lines {
			c := cards[l.appNo]
			cardID := fmt.Sprintf("%sD156000005%s%08X", region, l.serial, c.ID)
			if _, err := s.step(ctx, tx, by, c.ID, Produce, "", map[string]any{"chip_serial": l.serial, "atr": l.atr,
				"card_id": cardID, "key_version": version, "valid_until": valid}); err != nil {
				return err
			}
			applied++
		}
		_, err = tx.ExecContext(ctx, "UPDATE card_batches SET state = 'produced', result_sha256 = $1 WHERE id = $2", sha(data), batchID)
		return err
	})
	return applied, err
}

// parseResult reads a result file and checks each line on its own. end is the line after the
// last, where a problem with the file as a whole is reported.
func parseResult(data []byte) (lines []resultLine, problems *errs.RowProblems, end int, err error) {
	t, err := sheet.ReadBytes(data, ResultLimits)
	if err != nil {
		if se, ok := err.(*sheet.Error); ok {
			return nil, nil, 0, errs.Field("file", se.Reason)
		}
		return nil, nil, 0, errs.Field("file", "a CSV file with a header line and one line per card")
	}
	if len(t.Header) != 4 || len(t.Rows) == 0 {
		return nil, nil, 0, errs.Field("file", "a CSV file with a header line and one line per card, 4 columns: application_no, card_number, chip_serial, atr")
	}
	problems = &errs.RowProblems{}
	for _, r := range t.Rows {
		line := r.Line
		end = line + 1
		l := resultLine{line: line, appNo: r.Cells[0], number: strings.ToUpper(r.Cells[1]), serial: strings.ToUpper(r.Cells[2]), atr: strings.ToUpper(r.Cells[3])}
		if _, err := ident.ParseCardNumber(l.number); err != nil {
			problems.Add(errs.RowProblem{Line: line, Column: "B", Field: "card_number", Reason: err.Error()})
		}
		if len(l.serial) != 8 || !hexRE.MatchString(l.serial) {
			problems.Add(errs.RowProblem{Line: line, Column: "C", Field: "chip_serial", Reason: "8 hexadecimal digits"})
		}
		if len(l.atr) < 4 || len(l.atr) > 66 || len(l.atr)%2 != 0 || !hexRE.MatchString(l.atr) {
			problems.Add(errs.RowProblem{Line: line, Column: "D", Field: "atr", Reason: "2 to 33 bytes in hexadecimal"})
		}
		lines = append(lines, l)
	}
	return lines, problems, end, nil
}

// Distribute sends every produced card of a batch to a service outlet.
func (s *Service) Distribute(ctx context.Context, by *auth.Principal, batchID int64, outlet string) (int, error) {
	n := 0
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		// A batch that is not there (or not the caller's) is not found, as any object is; one
		// that is there but has nothing left to send is a conflict.
		var batchRegion string
		if err := tx.QueryRowContext(ctx, "SELECT region FROM card_batches WHERE id = $1", batchID).Scan(&batchRegion); err != nil || !by.InRegion(batchRegion) {
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			return errs.E(errs.NotFound, "no such card batch")
		}
		var region string
		if err := tx.QueryRowContext(ctx, "SELECT region FROM outlets WHERE code = $1", outlet).Scan(&region); err != nil || !by.InRegion(region) {
			return errs.Field("outlet", "no such service outlet in your regions")
		}
		rows, err := tx.QueryContext(ctx, "SELECT id FROM cards WHERE batch_id = $1 AND state = 'produced' AND region = $2", batchID, region)
		if err != nil {
			return err
		}
		var ids []int64
		for rows.Next() {
			var id int64
			rows.Scan(&id)
			ids = append(ids, id)
		}
		rows.Close()
		if len(ids) == 0 {
			return errs.E(errs.Conflict, "no produced card of this batch waits for distribution")
		}
		for _, id := range ids {
			if _, err := s.step(ctx, tx, by, id, Distribute, "", map[string]any{"outlet": outlet}); err != nil {
				return err
			}
			n++
		}
		_, err = tx.ExecContext(ctx, "UPDATE card_batches SET state = 'distributed' WHERE id = $1", batchID)
		return err
	})
	return n, err
}

// Collect hands a card to its holder at the outlet. The clerk enters the ID number from the ID card
// presented and the card number from the card (or reads it from the chip); either mismatch refuses.
func (s *Service) Collect(ctx context.Context, by *auth.Principal, id int64, presentedID, cardNumber string) (Card, error) {
	var c Card
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		cur, err := loadCard(ctx, tx, id, "")
		if err != nil {
			return err
		}
		if err := mayAct(by, &cur); err != nil {
			return err
		}
		n, err := ident.ParseIDNumber(presentedID, period.Today(s.now()))
		if err != nil {
			return errs.Field("id_number", err.Error())
		}
		if n != cur.IDNumber {
			return errs.Field("id_number", "the ID card presented is not the card holder's")
		}
		if !strings.EqualFold(strings.TrimSpace(cardNumber), cur.CardNumber) {
			return errs.Field("card_number", "the card in hand is not this application's card")
		}
		c, err = s.step(ctx, tx, by, id, Collect, "", nil)
		return err
	})
	return c, err
}

var pinRE = regexp.MustCompile(`^[0-9]{6}$`)

// Activate starts a collected card: its holder sets a 6-digit PIN (kept only as a slow hash; the
// chip holds the PIN itself).
func (s *Service) Activate(ctx context.Context, by *auth.Principal, id int64, pin string) (Card, error) {
	if !pinRE.MatchString(pin) {
		return Card{}, errs.Field("pin", "6 digits")
	}
	if weakPIN(pin) {
		return Card{}, errs.Field("pin", "too easy to guess: not all the same digit, not a run like 123456")
	}
	hash, err := hashPIN(pin)
	if err != nil {
		return Card{}, err
	}
	var c Card
	err = s.db.Write(ctx, func(tx *db.Tx) error {
		cur, err := loadCard(ctx, tx, id, "")
		if err != nil {
			return err
		}
		rules, err := s.rules(ctx, tx, cur.Region)
		if err != nil {
			return err
		}
		c, err = s.step(ctx, tx, by, id, Activate, "", map[string]any{"pin_hash": hash, "pin_tries_left": rules.PINTries})
		if err != nil || c.ReplacesID == 0 {
			return err
		}
		// The card this one replaces is cancelled now that its replacement is in use.
		_, err = s.step(ctx, tx, nil, c.ReplacesID, Retire, "replaced by "+c.ApplicationNo, nil)
		return err
	})
	return c, err
}

func weakPIN(p string) bool {
	if strings.Count(p, p[:1]) == len(p) {
		return true
	}
	return strings.Contains("0123456789", p) || strings.Contains("9876543210", p)
}

// ReportTemporaryLoss suspends a card until its holder unlocks it or the policy's days pass.
func (s *Service) ReportTemporaryLoss(ctx context.Context, by *auth.Principal, id int64) (Card, error) {
	return s.simple(ctx, by, id, ReportTempLoss, "")
}

// Unlock lifts a temporary loss (解挂).
func (s *Service) Unlock(ctx context.Context, by *auth.Principal, id int64) (Card, error) {
	return s.simple(ctx, by, id, Unlock, "")
}

// ReportLoss makes the loss formal and final (正式挂失).
func (s *Service) ReportLoss(ctx context.Context, by *auth.Principal, id int64) (Card, error) {
	return s.simple(ctx, by, id, ReportLoss, "")
}

// Cancel ends a card for good (death, emigration, …).
func (s *Service) Cancel(ctx context.Context, by *auth.Principal, id int64, reason string) (Card, error) {
	if strings.TrimSpace(reason) == "" {
		return Card{}, errs.Field("reason", "required")
	}
	return s.simple(ctx, by, id, Cancel, reason)
}

// Replace retires a card (lost, damaged or due for renewal) and applies for its replacement in
// the same transaction, so the person is never left with two cards or none applied for.
func (s *Service) Replace(ctx context.Context, by *auth.Principal, id int64, reason string) (Card, error) {
	var c Card
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		old, err := s.step(ctx, tx, by, id, Replace, strings.TrimSpace(reason), nil)
		if err != nil {
			return err
		}
		c, err = s.insertApplication(ctx, tx, by, old.PersonID, old.Region, old.ID)
		return err
	})
	return c, err
}

// Sweep runs the clock's transitions: temporary losses older than the policy's days lapse back to
// active, and cards past their validity expire. It returns how many cards it changed.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	n := 0
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		type candidate struct {
			id                      int64
			region, state, at, till string
		}
		var cands []candidate
		rows, err := tx.QueryContext(ctx, "SELECT id, region, state, state_at, valid_until FROM cards WHERE state IN ('temporarily_lost', 'active', 'collected')")
		if err != nil {
			return err
		}
		for rows.Next() {
			var c candidate
			if err := rows.Scan(&c.id, &c.region, &c.state, &c.at, &c.till); err != nil {
				rows.Close()
				return err
			}
			cands = append(cands, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		type due struct {
			id     int64
			action Action
		}
		var todo []due
		days := map[string]int{}
		for _, c := range cands {
			if c.till != "" {
				if v, _ := db.ParseTime(c.till); !tx.Now.Before(v) {
					todo = append(todo, due{c.id, Expire})
					continue
				}
			}
			if State(c.state) != TemporarilyLost {
				continue
			}
			if _, ok := days[c.region]; !ok {
				rules, err := s.rules(ctx, tx, c.region)
				if err != nil {
					return err
				}
				days[c.region] = rules.TemporaryLossDays
			}
			since, _ := db.ParseTime(c.at)
			if !tx.Now.Before(since.AddDate(0, 0, days[c.region])) {
				todo = append(todo, due{c.id, Lapse})
			}
		}
		for _, d := range todo {
			if _, err := s.step(ctx, tx, nil, d.id, d.action, "", nil); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	return n, err
}

// ActivateBank records that the bank activated the card's financial function, with the account
// that benefits are paid into. A temporary card has no bank function.
func (s *Service) ActivateBank(ctx context.Context, by *auth.Principal, id int64, account string) (Card, error) {
	if err := by.Require(auth.ActivateCardBank); err != nil {
		return Card{}, err
	}
	account = strings.ReplaceAll(strings.TrimSpace(account), " ", "")
	if len(account) < 12 || len(account) > 32 || strings.Trim(account, "0123456789") != "" {
		return Card{}, errs.Field("bank_account", "12–32 digits")
	}
	var c Card
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		cur, err := loadCard(ctx, tx, id, tx.ForUpdate())
		if err != nil {
			return err
		}
		if err := mayAct(by, &cur); err != nil {
			return err
		}
		if cur.Kind != SocialSecurity {
			return errs.E(errs.Conflict, "a temporary card has no bank function")
		}
		if cur.State != Collected && cur.State != Active {
			return errs.E(errs.Conflict, "a card that is %s cannot get its bank function", cur.State)
		}
		if cur.BankAccount != "" {
			return errs.E(errs.Conflict, "the bank function is already active")
		}
		if _, err := tx.ExecContext(ctx, "UPDATE cards SET bank_account = $1, bank_activated_at = $2 WHERE id = $3", account, db.FormatTime(tx.Now), id); err != nil {
			return err
		}
		if err := audit.Record(ctx, tx, by.Actor(), "card.bank_activate", cardObject(cur), cur.Region, map[string]string{"account_end": account[len(account)-4:]}); err != nil {
			return err
		}
		c, err = loadCard(ctx, tx, id, "")
		return err
	})
	return c, err
}

func sha(b []byte) string {
	h := sha256sum(b)
	return hex.EncodeToString(h[:])
}

// Outlet is a service outlet (网点) where cards are collected.
type Outlet struct {
	Code, Region, Name, Address string
}

var outletRE = regexp.MustCompile(`^[A-Z0-9-]{2,20}$`)

// AddOutlet registers a service outlet (administrator).
func (s *Service) AddOutlet(ctx context.Context, by *auth.Principal, o Outlet) (Outlet, error) {
	if err := by.Require(auth.ManageOutlets); err != nil {
		return Outlet{}, err
	}
	f := errs.Fields{}
	o.Code, o.Name, o.Address = strings.ToUpper(strings.TrimSpace(o.Code)), strings.TrimSpace(o.Name), strings.TrimSpace(o.Address)
	if !outletRE.MatchString(o.Code) {
		f.Add("code", "2–20 capital letters, digits or '-'")
	}
	if o.Name == "" || len([]rune(o.Name)) > 100 {
		f.Add("name", "1–100 characters")
	}
	if !by.InRegion(o.Region) {
		f.Add("region", "not one of your regions")
	}
	if err := f.Err(); err != nil {
		return Outlet{}, err
	}
	err := s.db.Write(ctx, func(tx *db.Tx) error {
		if _, err := tx.ExecContext(ctx, "INSERT INTO outlets(code, region, name, address) VALUES($1, $2, $3, $4)", o.Code, o.Region, o.Name, o.Address); err != nil {
			if db.IsUniqueViolation(err) {
				return errs.Field("code", "already used")
			}
			return err
		}
		return audit.Record(ctx, tx, by.Actor(), "outlet.add", "outlet:"+o.Code, o.Region, map[string]string{"name": o.Name})
	})
	return o, err
}

// OutletsPage lists at most limit outlets of the principal's regions by code, after the code after.
// Codes are unique across regions, so the regions' outlets are one list.
func (s *Service) OutletsPage(ctx context.Context, by *auth.Principal, after string, limit int) ([]Outlet, error) {
	if len(by.Regions) == 0 {
		return nil, nil
	}
	args := []any{after, limit}
	in := make([]string, 0, len(by.Regions))
	for _, r := range by.Regions {
		args = append(args, r)
		in = append(in, fmt.Sprintf("$%d", len(args)))
	}
	var out []Outlet
	err := db.EachRow(ctx, s.db.R(), func(scan func(...any) error) error {
		var o Outlet
		err := scan(&o.Code, &o.Region, &o.Name, &o.Address)
		out = append(out, o)
		return err
	}, "SELECT code, region, name, address FROM outlets WHERE region IN ("+strings.Join(in, ", ")+") AND code > $1 ORDER BY code LIMIT $2", args...)
	return out, err
}

// Outlets lists the outlets of the principal's regions.
func (s *Service) Outlets(ctx context.Context, by *auth.Principal) ([]Outlet, error) {
	var out []Outlet
	for _, r := range by.Regions {
		rows, err := s.db.R().QueryContext(ctx, "SELECT code, region, name, address FROM outlets WHERE region = $1 ORDER BY code", r)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var o Outlet
			if err := rows.Scan(&o.Code, &o.Region, &o.Name, &o.Address); err != nil {
				rows.Close()
				return nil, err
			}
			out = append(out, o)
		}
		rows.Close()
	}
	return out, nil
}

// List returns the cards of the principal's regions in a state ("" = every state), newest first.
func (s *Service) List(ctx context.Context, by *auth.Principal, state State, limit int) ([]Card, error) {
	var out []Card
	for _, region := range by.Regions {
		cs, err := queryCards(ctx, s.db.R(), "WHERE c.region = $1 AND ($2 = '' OR c.state = $2) ORDER BY c.id DESC LIMIT $3", region, string(state), limit)
		if err != nil {
			return nil, err
		}
		out = append(out, cs...)
	}
	return out, nil
}

// Batches lists the production batches of the principal's regions, newest first.
func (s *Service) Batches(ctx context.Context, by *auth.Principal) ([]Batch, error) {
	var out []Batch
	for _, region := range by.Regions {
		rows, err := s.db.R().QueryContext(ctx, "SELECT id, region, state, cards, created_at FROM card_batches WHERE region = $1 ORDER BY id DESC LIMIT 50", region)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			var b Batch
			var at string
			if err := rows.Scan(&b.ID, &b.Region, &b.State, &b.Cards, &at); err != nil {
				rows.Close()
				return nil, err
			}
			b.CreatedAt, _ = db.ParseTime(at)
			out = append(out, b)
		}
		rows.Close()
	}
	return out, nil
}
