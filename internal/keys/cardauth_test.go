package keys

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/shebao/shebao/internal/apdu"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/db/dbtest"
)

// recorder is a CardAuthenticator in front of the key service that remembers what passed and can
// alter the card's answer on its way, as a forger between card and server would.
type recorder struct {
	svc       *Service
	tamper    bool
	challenge [16]byte
	answer    [16]byte
	cardID    [16]byte
	version   byte
}

func (r *recorder) Challenge(ctx2 context.Context) ([16]byte, error) { return r.svc.Challenge(ctx2) }

func (r *recorder) Verify(ctx2 context.Context, id [16]byte, v byte, ch, ans [16]byte) error {
	if r.tamper {
		ans[0] ^= 0x01
	}
	r.cardID, r.version, r.challenge, r.answer = id, v, ch, ans
	return r.svc.Verify(ctx2, id, v, ch, ans)
}

func TestCardAuthentication(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		f.unseal()
		f.generate()
		card := f.card(cardID(7))
		term := &apdu.Terminal{Card: card}

		// A genuine card.
		rec := &recorder{svc: f.svc}
		if err := term.Authenticate(ctx, rec); err != nil {
			t.Fatalf("genuine card: %v", err)
		}
		// Its answer replayed: the challenge is used up.
		if err := f.svc.Verify(ctx, rec.cardID, rec.version, rec.challenge, rec.answer); !errors.Is(err, ErrNotGenuine) {
			t.Fatalf("replayed answer: %v", err)
		}
		// A tampered answer.
		if err := term.Authenticate(ctx, &recorder{svc: f.svc, tamper: true}); !errors.Is(err, ErrNotGenuine) {
			t.Fatalf("tampered answer: %v", err)
		}
		// An answer to a challenge the service never issued.
		if err := f.svc.Verify(ctx, cardID(7), 1, [16]byte{1, 2, 3}, rec.answer); !errors.Is(err, ErrNotGenuine) {
			t.Fatalf("unknown challenge: %v", err)
		}
		// A card with the same identity personalised under another issuer key (another keystore).
		other := newFixture(t, dbtest.SQLite(t, dbtest.Options{}))
		other.unseal()
		other.generate()
		forged := other.card(cardID(7))
		if err := (&apdu.Terminal{Card: forged}).Authenticate(ctx, f.svc); !errors.Is(err, ErrNotGenuine) {
			t.Fatalf("card under another issuer key: %v", err)
		}
		// Reading holder data needs the service's external authentication.
		h, err := term.ReadHolderData(ctx, f.svc)
		if err != nil || h.Name != "王小明" || h.IDNumber != "11010519491231002X" {
			t.Fatalf("holder data: %+v %v", h, err)
		}
		if _, err := (&apdu.Terminal{Card: forged}).ReadHolderData(ctx, f.svc); err == nil {
			t.Fatal("a forged card accepted our external authentication")
		}
		// PIN: three wrong tries answer 63C2, 63C1, then 6983; then even the right PIN is refused.
		var sws []uint16
		for range 3 {
			err := term.VerifyPIN(ctx, "000000")
			var se *apdu.StatusError
			if !errors.As(err, &se) {
				t.Fatalf("wrong PIN: %v", err)
			}
			sws = append(sws, se.SW)
		}
		if fmt.Sprintf("%04X", sws) != "[63C2 63C1 6983]" {
			t.Fatalf("wrong PIN status words = %04X; want [63C2 63C1 6983]", sws)
		}
		var se *apdu.StatusError
		if err := term.VerifyPIN(ctx, "739164"); !errors.As(err, &se) || !se.Blocked() {
			t.Fatalf("right PIN on a blocked card: %v", err)
		}
	})
}

// TestNoPlaintextKeyLeaks runs a full scenario — initialise, unseal, generate, rotate, personalise,
// authenticate, read holder data, sign, export — and then looks for every key it can know in the
// database, the log and the answers: none may appear, in hex (either case) or raw.
func TestNoPlaintextKeyLeaks(t *testing.T) {
	d := dbtest.SQLite(t, dbtest.Options{})
	var logs bytes.Buffer
	f := newFixture(t, d)
	f.svc.log = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f.unseal()
	f.generate()
	card := f.card(cardID(9))
	term := &apdu.Terminal{Card: card}
	if err := term.Authenticate(ctx, f.svc); err != nil {
		t.Fatal(err)
	}
	if _, err := term.ReadHolderData(ctx, f.svc); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.svc.Sign(ctx, region, []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := f.accept(pay(t, card, testTxData(100))); err != nil {
		t.Fatal(err)
	}
	rot, _ := f.svc.Request(ctx, f.admin, NewRequest{Kind: Rotate, Region: region})
	f.svc.Approve(ctx, f.alice, rot.ID)
	f.svc.Approve(ctx, f.bob, rot.ID)

	// Every key the scenario made: the master key, its components, the KEK and every issuer key.
	secrets := append([][]byte{}, f.components...)
	master, err := f.svc.masterCopy()
	if err != nil {
		t.Fatal(err)
	}
	secrets = append(secrets, master)
	ks, _ := f.svc.List(ctx, region)
	for _, k := range ks {
		var wrapped []byte
		d.R().QueryRowContext(ctx, "SELECT wrapped FROM keys WHERE id = $1", k.ID).Scan(&wrapped)
		var plain []byte
		if k.Purpose == KEK {
			plain, err = unwrap(master, wrapped, aadOf(region, KEK, 1))
		} else {
			plain, err = f.svc.unwrapIssuer(ctx, k, wrapped)
		}
		if err != nil {
			t.Fatalf("unwrap %s v%d: %v", k.Purpose, k.Version, err)
		}
		secrets = append(secrets, plain)
		if k.Purpose == InternalAuth || k.Purpose == ExternalAuth || k.Purpose == PINKey || k.Purpose == TransactionMAC {
			c, _ := newCipher(plain)
			ck := Diversify(c, cardID(9))
			secrets = append(secrets, ck[:])
		}
	}
	if len(secrets) < 10 {
		t.Fatalf("only %d secrets collected", len(secrets))
	}
	var haystack bytes.Buffer
	haystack.Write(logs.Bytes())
	for _, table := range []string{"keystore", "key_components", "keys", "key_requests", "key_approvals", "audit_log", "users", "policy_versions", "card_transaction_counters"} {
		dumpTable(t, d, table, &haystack)
	}
	for _, s := range secrets {
		for _, form := range [][]byte{s, []byte(strings.ToLower(hexOf(s))), []byte(strings.ToUpper(hexOf(s)))} {
			if bytes.Contains(haystack.Bytes(), form) {
				t.Fatalf("a key (%.6s…) appears in the database or the log", hexOf(s))
			}
		}
	}
}

func hexOf(b []byte) string { return fmt.Sprintf("%x", b) }

// dumpTable writes every value of every row of table.
func dumpTable(t *testing.T, d *db.DB, table string, w *bytes.Buffer) {
	t.Helper()
	rows, err := d.R().QueryContext(ctx, "SELECT * FROM "+table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		for _, v := range vals {
			switch x := v.(type) {
			case []byte:
				w.Write(x)
			case string:
				w.WriteString(x)
			case sql.NullString:
				w.WriteString(x.String)
			default:
				fmt.Fprint(w, x)
			}
			w.WriteByte('\n')
		}
	}
}
