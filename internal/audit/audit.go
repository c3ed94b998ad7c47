// Package audit is shebao's append-only audit log. Every change anywhere in shebao records an
// entry — who, in which role, did what to which object, when, in which region, under which request —
// in the same transaction as the change itself, so a change and its entry commit or vanish together.
//
// Each entry carries the SM3 hash of its own fields and of the previous entry's hash, and the table
// audit_head keeps the sequence number and hash of the last entry. Verify walks the chain and names
// the first entry that was altered, inserted or deleted. The chain proves tampering only to someone
// who knows the real head: a chain cut back, or rebuilt from some entry on, with audit_head
// rewritten to match, is sound by itself. So the head is anchored outside the database — the
// server takes it periodically (Anchor) for its log and metrics, operators keep what Verify prints
// — and Verify checks the chain against the heads so recorded.
//
// This package must never update or delete an entry.
package audit

import (
	"context"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/emmansun/gmsm/sm3"

	"github.com/shebao/shebao/internal/db"
)

// Genesis is the previous hash of the first entry.
const Genesis = "0000000000000000000000000000000000000000000000000000000000000000"

// Entry is one audited change. Detail holds what changed, as a JSON object; it must never hold a
// secret (password, PIN, key, token) or more of a person's data than the change needs.
type Entry struct {
	Seq       int64
	At        time.Time
	Actor     string // username, or "system" for the server itself
	Role      string
	Action    string // dotted verb, e.g. "user.create"
	Object    string // what was changed, e.g. "user:alice"
	Region    string // pooling region the change belongs to, "" when none
	RequestID string
	Detail    string // JSON object
	PrevHash  string
	Hash      string
}

// Actor says who is making a change. The web layer builds it from the authenticated user; the CLI
// uses the operating-system user or "system".
type Actor struct {
	Name      string
	Role      string
	RequestID string
}

// System is the actor for changes the server makes by itself (start-up, scheduled work).
var System = Actor{Name: "system", Role: "system"}

// Record appends an entry inside tx. detail may be nil; otherwise it is marshalled to JSON.
func Record(ctx context.Context, tx *db.Tx, who Actor, action, object, region string, detail any) error {
	return RecordMany(ctx, tx, []Change{{Who: who, Action: action, Object: object, Region: region, Detail: detail}})
}

// Change is one entry to append with RecordMany.
type Change struct {
	Who                    Actor
	Action, Object, Region string
	Detail                 any // nil, or marshalled to JSON
}

// RecordMany appends one entry per change, in order, inside tx: the same entries, chained the same
// way, as a Record for each would append, with one read of the head, one insert and one move of the
// head for all of them (the settlement writer records a batch's settlements so).
func RecordMany(ctx context.Context, tx *db.Tx, changes []Change) error {
	if len(changes) == 0 {
		return nil
	}
	entries := make([]Entry, len(changes))
	for i, c := range changes {
		d := "{}"
		if c.Detail != nil {
			b, err := json.Marshal(c.Detail)
			if err != nil {
				return fmt.Errorf("audit: detail of %s: %w", c.Action, err)
			}
			d = string(b)
		}
		entries[i] = Entry{At: tx.Now, Actor: c.Who.Name, Role: c.Who.Role, Action: c.Action, Object: c.Object, Region: c.Region,
			RequestID: c.Who.RequestID, Detail: d}
	}
	// Locking the head row serialises appenders on PostgreSQL; SQLite has one writer anyway.
	var seq int64
	var prev string
	if err := tx.QueryRowContext(ctx, "SELECT seq, hash FROM audit_head WHERE id = 1"+tx.ForUpdate()).Scan(&seq, &prev); err != nil {
		return fmt.Errorf("audit: read head: %w", err)
	}
	for i := range entries {
		e := &entries[i]
		e.Seq, e.PrevHash = seq+int64(i)+1, prev
		e.Hash = e.computeHash()
		prev = e.Hash
	}
	last := entries[len(entries)-1]
	if len(entries) == 1 {
		if _, err := tx.ExecContext(ctx, `INSERT INTO audit_log(seq, at, actor, role, action, object, region, request_id, detail, prev_hash, hash)
		VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			last.Seq, db.FormatTime(last.At), last.Actor, last.Role, last.Action, last.Object, last.Region, last.RequestID, last.Detail, last.PrevHash, last.Hash); err != nil {
			return fmt.Errorf("audit: append: %w", err)
		}
	} else {
		in := tx.Inserter("audit_log", "seq", "at", "actor", "role", "action", "object", "region", "request_id", "detail", "prev_hash", "hash")
		for _, e := range entries {
			if err := in.Add(ctx, e.Seq, db.FormatTime(e.At), e.Actor, e.Role, e.Action, e.Object, e.Region, e.RequestID, e.Detail, e.PrevHash, e.Hash); err != nil {
				return fmt.Errorf("audit: append: %w", err)
			}
		}
		if err := in.Close(ctx); err != nil {
			return fmt.Errorf("audit: append: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, "UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1", last.Seq, last.Hash); err != nil {
		return fmt.Errorf("audit: move head: %w", err)
	}
	return nil
}

// computeHash is SM3 over every field, each prefixed by its length so that no two different
// entries encode to the same bytes.
func (e Entry) computeHash() string {
	h := sm3.New()
	var n [8]byte
	for _, f := range []string{strconv.FormatInt(e.Seq, 10), db.FormatTime(e.At), e.Actor, e.Role, e.Action,
		e.Object, e.Region, e.RequestID, e.Detail, e.PrevHash} {
		binary.BigEndian.PutUint64(n[:], uint64(len(f)))
		h.Write(n[:])
		h.Write([]byte(f))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Problem describes the first place where the chain breaks.
type Problem struct {
	Seq    int64  // the entry at fault (or the head's sequence number)
	Kind   string // what was done to the log, for a reader's words: deleted, rewritten, inserted, altered, outside
	Reason string // the finding in detail (English, with the hashes), for logs and the command line
}

func (p *Problem) Error() string { return fmt.Sprintf("audit entry %d: %s", p.Seq, p.Reason) }

// Report is the outcome of Verify.
type Report struct {
	Entries  int64  // entries checked
	HeadSeq  int64  // last sequence number
	HeadHash string // last hash: anchor this outside the database
}

// ErrBroken is matched by errors.Is for any broken chain.
var ErrBroken = errors.New("audit chain broken")

func (p *Problem) Is(target error) bool { return target == ErrBroken }

// Head is a point of the chain: an entry's sequence number and hash. Written SEQ:HASH, it is what
// operators record outside the database and give back to Verify.
type Head struct {
	Seq  int64
	Hash string
}

func (h Head) String() string { return strconv.FormatInt(h.Seq, 10) + ":" + h.Hash }

// ParseHead reads a head written SEQ:HASH: a sequence number from 1 and the entry's 64-character
// hex hash (either case).
func ParseHead(s string) (Head, error) {
	seq, hash, ok := strings.Cut(strings.TrimSpace(s), ":")
	n, err := strconv.ParseInt(seq, 10, 64)
	if !ok || err != nil || n < 1 || strconv.FormatInt(n, 10) != seq || len(hash) != len(Genesis) {
		return Head{}, fmt.Errorf("audit: %q is not SEQ:HASH (a sequence number from 1, a colon, 64 hex characters)", s)
	}
	if _, err := hex.DecodeString(hash); err != nil {
		return Head{}, fmt.Errorf("audit: %q is not SEQ:HASH (the hash is not hex)", s)
	}
	return Head{Seq: n, Hash: strings.ToLower(hash)}, nil
}

// CurrentHead reads the head as the database records it.
func CurrentHead(ctx context.Context, r db.Reader) (Head, error) {
	var h Head
	if err := r.QueryRowContext(ctx, "SELECT seq, hash FROM audit_head WHERE id = 1").Scan(&h.Seq, &h.Hash); err != nil {
		return Head{}, fmt.Errorf("audit: read head: %w", err)
	}
	return h, nil
}

// Contains checks that the chain still holds the entry of a head recorded earlier, with that hash.
// It returns a *Problem when the entry is gone or its hash differs. It reads one entry: a cheap
// check that the log was not cut back or rewritten since, not a verification of the chain.
func Contains(ctx context.Context, r db.Reader, h Head) error {
	var hash string
	err := r.QueryRowContext(ctx, "SELECT hash FROM audit_log WHERE seq = $1", h.Seq).Scan(&hash)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return missing(h, -1)
	case err != nil:
		return fmt.Errorf("audit: read entry %d: %w", h.Seq, err)
	case hash != h.Hash:
		return rewritten(h, hash)
	}
	return nil
}

// missing is the problem of a recorded head whose entry the chain no longer holds; last is where
// the chain now ends, -1 when not known.
func missing(h Head, last int64) *Problem {
	ends := ""
	if last >= 0 {
		ends = fmt.Sprintf("the chain ends at entry %d; ", last)
	}
	return &Problem{Seq: h.Seq, Kind: "deleted", Reason: fmt.Sprintf("missing: %sthe head recorded as %.20s… names entry %d (entries were deleted and the head rewritten)",
		ends, h.String(), h.Seq)}
}

func rewritten(h Head, hash string) *Problem {
	return &Problem{Seq: h.Seq, Kind: "rewritten", Reason: fmt.Sprintf("its hash is %.12s…, but the head recorded as %.20s… says %.12s… (the chain was rewritten up to here)",
		hash, h.String(), h.Hash)}
}

// Verify checks every entry in order from a consistent snapshot. It returns a *Problem naming the
// first bad entry, or the report of a sound chain. progress, if not nil, is called every 10,000
// entries.
//
// A chain that was cut back and given a rewritten audit_head is sound by itself: only a head
// recorded outside the database shows the loss. Each head in expect must therefore be in the
// chain — its entry present, with that hash — or Verify returns a *Problem naming it.
func Verify(ctx context.Context, d *db.DB, progress func(checked int64), expect ...Head) (Report, error) {
	var rep Report
	expected := map[int64][]Head{}
	for _, h := range expect {
		expected[h.Seq] = append(expected[h.Seq], h)
	}
	err := d.Read(ctx, func(tx *db.Tx) error {
		head, err := CurrentHead(ctx, tx)
		if err != nil {
			return err
		}
		headSeq, headHash := head.Seq, head.Hash
		rows, err := tx.QueryContext(ctx, `SELECT seq, at, actor, role, action, object, region, request_id, detail, prev_hash, hash
			FROM audit_log ORDER BY seq`)
		if err != nil {
			return fmt.Errorf("audit: read log: %w", err)
		}
		defer rows.Close()
		want, prev := int64(1), Genesis
		for rows.Next() {
			var e Entry
			var at string
			if err := rows.Scan(&e.Seq, &at, &e.Actor, &e.Role, &e.Action, &e.Object, &e.Region, &e.RequestID, &e.Detail, &e.PrevHash, &e.Hash); err != nil {
				return fmt.Errorf("audit: read entry: %w", err)
			}
			switch {
			case e.Seq != want && e.Seq > want:
				return &Problem{Seq: want, Kind: "deleted", Reason: fmt.Sprintf("missing: the log jumps from %d to %d (deleted)", want-1, e.Seq)}
			case e.Seq != want:
				return &Problem{Seq: e.Seq, Kind: "inserted", Reason: "out of sequence (inserted)"}
			}
			t, err := db.ParseTime(at)
			if err != nil {
				return &Problem{Seq: e.Seq, Kind: "altered", Reason: "time is not in the stored form (altered)"}
			}
			e.At = t
			if e.PrevHash != prev {
				return &Problem{Seq: e.Seq, Kind: "inserted", Reason: "does not follow the previous entry (inserted or altered)"}
			}
			if e.computeHash() != e.Hash {
				return &Problem{Seq: e.Seq, Kind: "altered", Reason: "contents do not match its hash (altered)"}
			}
			for _, h := range expected[e.Seq] {
				if h.Hash != e.Hash {
					return rewritten(h, e.Hash)
				}
			}
			prev = e.Hash
			want++
			if progress != nil && e.Seq%10000 == 0 {
				progress(e.Seq)
			}
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("audit: read log: %w", err)
		}
		last := want - 1
		if last != headSeq || prev != headHash {
			return &Problem{Seq: headSeq, Kind: "outside", Reason: fmt.Sprintf("the head says %d entries ending in %.12s…, the log has %d ending in %.12s… (entries deleted or appended outside shebao)", headSeq, headHash, last, prev)}
		}
		for _, h := range expect {
			if h.Seq > last {
				return missing(h, last)
			}
		}
		rep = Report{Entries: last, HeadSeq: headSeq, HeadHash: headHash}
		return nil
	})
	return rep, err
}

// Anchor takes the head at intervals, for keeping outside the database (the server writes it to its
// log and shows it in /metrics), and checks each time that the head it took before is still in
// the chain, so that a log cut back or rewritten while the server runs is noticed within one
// interval even before anyone compares the recorded heads.
type Anchor struct {
	last Head
}

// Next reads the current head. With it comes a *Problem when the head taken last time is no longer
// in the chain; from then on the new head is the one checked.
func (a *Anchor) Next(ctx context.Context, r db.Reader) (Head, error) {
	h, err := CurrentHead(ctx, r)
	if err != nil {
		return Head{}, err
	}
	var lost error
	if a.last.Seq > 0 {
		lost = Contains(ctx, r, a.last)
	}
	a.last = h
	return h, lost
}

// Query selects entries for reading.
type Query struct {
	Regions []string // entries of these regions and entries of no region; nil = every entry
	Object  string   // "" = every object
	// User selects the entries made by this user or about their account (object "user:<name>"),
	// "" = everyone's. It is how an auditor, who reads actors masked, finds a resident's entries:
	// by the username, which for a resident is the whole ID number.
	User   string
	Limit  int   // 0 = 100; at most 1,000
	Before int64 // entries with seq below this; 0 = from the newest
}

// List returns entries newest first.
func List(ctx context.Context, r db.Reader, q Query) ([]Entry, error) {
	if q.Limit <= 0 {
		q.Limit = 100
	}
	q.Limit = min(q.Limit, 1000)
	before := q.Before
	if before <= 0 {
		before = 1 << 62
	}
	args := []any{before, q.Object, q.Limit, q.User, "user:" + q.User}
	where := "seq < $1 AND ($2 = '' OR object = $2) AND ($4 = '' OR actor = $4 OR object = $5)"
	if q.Regions != nil {
		ph := []string{"''"}
		for _, reg := range q.Regions {
			args = append(args, reg)
			ph = append(ph, fmt.Sprintf("$%d", len(args)))
		}
		where += " AND region IN (" + strings.Join(ph, ", ") + ")"
	}
	rows, err := r.QueryContext(ctx, `SELECT seq, at, actor, role, action, object, region, request_id, detail, prev_hash, hash
		FROM audit_log WHERE `+where+` ORDER BY seq DESC LIMIT $3`, args...)
	if err != nil {
		return nil, fmt.Errorf("audit: list: %w", err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		var e Entry
		var at string
		if err := rows.Scan(&e.Seq, &at, &e.Actor, &e.Role, &e.Action, &e.Object, &e.Region, &e.RequestID, &e.Detail, &e.PrevHash, &e.Hash); err != nil {
			return nil, fmt.Errorf("audit: list: %w", err)
		}
		e.At, _ = db.ParseTime(at)
		out = append(out, e)
	}
	return out, rows.Err()
}
