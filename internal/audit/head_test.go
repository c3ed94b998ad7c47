package audit_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/db/dbtest"
)

// headAt is the head as it stood after entry seq.
func headAt(t *testing.T, d *db.DB, seq int64) audit.Head {
	t.Helper()
	h := audit.Head{Seq: seq}
	if err := d.R().QueryRowContext(context.Background(), "SELECT hash FROM audit_log WHERE seq = $1", seq).Scan(&h.Hash); err != nil {
		t.Fatal(err)
	}
	return h
}

// cutTo deletes every entry after seq and rewrites audit_head to match, as someone with write
// access to the database would to make entries vanish.
func cutTo(t *testing.T, d *db.DB, seq int64) {
	t.Helper()
	h := headAt(t, d, seq)
	exec(t, d, "DELETE FROM audit_log WHERE seq > $1", seq)
	exec(t, d, "UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1", h.Seq, h.Hash)
}

// TestExpectHead: a chain cut back with its head rewritten verifies on its own — nothing in the
// database says entries are missing — and fails against a head recorded before the cut, naming the
// missing entry. A chain rebuilt past the cut fails against the recorded hash.
func TestExpectHead(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		seed(t, d, 10)
		h5, h10 := headAt(t, d, 5), headAt(t, d, 10)
		if rep, err := audit.Verify(ctx, d, nil, h5, h10); err != nil || rep.HeadSeq != 10 {
			t.Fatalf("sound chain against its own heads: %+v %v", rep, err)
		}

		cutTo(t, d, 7)
		if rep, err := audit.Verify(ctx, d, nil); err != nil || rep.Entries != 7 {
			t.Fatalf("a cut chain with its head rewritten should verify alone (it cannot tell): %+v %v", rep, err)
		}
		_, err := audit.Verify(ctx, d, nil, h10)
		var p *audit.Problem
		if !errors.As(err, &p) || p.Seq != 10 || !strings.Contains(p.Reason, "missing: the chain ends at entry 7") {
			t.Fatalf("cut chain against the recorded head 10: %v", err)
		}
		if _, err := audit.Verify(ctx, d, nil, h5); err != nil {
			t.Fatalf("the head at 5 is still in the chain: %v", err)
		}

		// Rebuilt: the forger cuts back to 4 and appends six entries of their own through the real
		// Record, so every link and the head are right again.
		cutTo(t, d, 4)
		seed(t, d, 6)
		if rep, err := audit.Verify(ctx, d, nil); err != nil || rep.HeadSeq != 10 {
			t.Fatalf("a rebuilt chain verifies alone: %+v %v", rep, err)
		}
		for _, h := range []audit.Head{h5, h10} {
			_, err := audit.Verify(ctx, d, nil, h)
			if !errors.As(err, &p) || p.Seq != h.Seq || !strings.Contains(p.Reason, "rewritten") {
				t.Fatalf("rebuilt chain against the recorded head %d: %v", h.Seq, err)
			}
		}
	})
}

// TestAnchorNoticesACut: the server's periodic head notices, at its next turn, that the head it
// took before is no longer in the chain.
func TestAnchorNoticesACut(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		var a audit.Anchor
		if h, err := a.Next(ctx, d.R()); err != nil || h.Seq != 0 || h.Hash != audit.Genesis {
			t.Fatalf("empty chain: %+v %v", h, err)
		}
		seed(t, d, 3)
		if h, err := a.Next(ctx, d.R()); err != nil || h != headAt(t, d, 3) {
			t.Fatalf("after 3 entries: %+v %v", h, err)
		}
		seed(t, d, 2)
		if h, err := a.Next(ctx, d.R()); err != nil || h.Seq != 5 {
			t.Fatalf("after 5 entries: %+v %v", h, err)
		}
		cutTo(t, d, 4)
		h, err := a.Next(ctx, d.R())
		var p *audit.Problem
		if !errors.As(err, &p) || p.Seq != 5 || h.Seq != 4 {
			t.Fatalf("after the cut: %+v %v", h, err)
		}
		if _, err := a.Next(ctx, d.R()); err != nil {
			t.Fatalf("the cut is reported once: %v", err)
		}
	})
}

func TestParseHead(t *testing.T) {
	hash := strings.Repeat("ab", 32)
	for in, want := range map[string]audit.Head{
		"42:" + hash:                         {42, hash},
		" 7:" + strings.ToUpper(hash) + "\n": {7, hash},
	} {
		if h, err := audit.ParseHead(in); err != nil || h != want {
			t.Errorf("ParseHead(%q) = %+v, %v", in, h, err)
		}
	}
	for _, in := range []string{"", "42", hash, "0:" + hash, "-1:" + hash, "+4:" + hash, "04:" + hash, "4:" + hash[:63],
		"4:" + hash + "a", "4:" + strings.Repeat("g", 64), "4 :" + hash, "99999999999999999999:" + hash} {
		if h, err := audit.ParseHead(in); err == nil {
			t.Errorf("ParseHead(%q) = %+v; want an error", in, h)
		}
	}
}

// FuzzParseHead: any text either is refused or reads as a head that prints back to itself.
func FuzzParseHead(f *testing.F) {
	f.Add("42:" + strings.Repeat("ab", 32))
	f.Add("1:" + audit.Genesis)
	f.Add("x:y")
	f.Fuzz(func(t *testing.T, s string) {
		h, err := audit.ParseHead(s)
		if err != nil {
			return
		}
		again, err := audit.ParseHead(h.String())
		if err != nil || again != h || h.Seq < 1 || len(h.Hash) != 64 || strings.ToLower(h.Hash) != h.Hash {
			t.Fatalf("%q read as %+v, which prints as %q and reads back as %+v, %v", s, h, h.String(), again, err)
		}
	})
}
