package apdu_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/shebao/shebao/internal/apdu"
)

// rewriteCard passes commands to a card and lets the test change the answers.
type rewriteCard struct {
	inner   apdu.Card
	rewrite func(cmd, resp []byte) []byte
	sent    int
}

func (c *rewriteCard) Transmit(ctx context.Context, cmd []byte) ([]byte, error) {
	c.sent++
	resp, err := c.inner.Transmit(ctx, cmd)
	if err != nil || c.rewrite == nil {
		return resp, err
	}
	return c.rewrite(cmd, resp), nil
}

func TestTerminalReadsCard(t *testing.T) {
	ctx := context.Background()
	term := &apdu.Terminal{Card: mustCard(t)}
	issuer, err := term.ReadIssuerData(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if issuer != testIssuer() {
		t.Fatalf("issuer %+v, want %+v", issuer, testIssuer())
	}
	auth := &keyAuth{keys: testKeys}
	holder, err := term.ReadHolderData(ctx, auth)
	if err != nil {
		t.Fatal(err)
	}
	if holder != testHolder() || holder.Name != "王小明" {
		t.Fatalf("holder %+v, want %+v", holder, testHolder())
	}
	if auth.gotID != testIssuer().CardID || auth.gotVersion != 2 {
		t.Fatalf("the authenticator was asked for card %X key version %d", auth.gotID, auth.gotVersion)
	}
}

func TestTerminalReadsLongName(t *testing.T) {
	holder := testHolder()
	holder.Name = "阿卜杜热合曼买买提艾力阿不都克里木古丽娜" // 20 characters: 30 bytes in 09, 10 in 4E
	holder.BirthPlace = [3]byte{}
	c, err := apdu.NewSoftCard(personalization(t, testIssuer(), holder, testKeys))
	if err != nil {
		t.Fatal(err)
	}
	got, err := (&apdu.Terminal{Card: c}).ReadHolderData(context.Background(), &keyAuth{keys: testKeys})
	if err != nil {
		t.Fatal(err)
	}
	if got != holder {
		t.Fatalf("holder %+v, want %+v", got, holder)
	}
}

func TestTerminalReadHolderDataWithWrongKey(t *testing.T) {
	other := testKeys
	other.ExternalAuth[0] ^= 1
	_, err := (&apdu.Terminal{Card: mustCard(t)}).ReadHolderData(context.Background(), &keyAuth{keys: other})
	var se *apdu.StatusError
	if !errors.As(err, &se) || se.SW != apdu.SWAuthFailed || se.Command != "EXTERNAL AUTHENTICATE" {
		t.Fatalf("err = %v, want EXTERNAL AUTHENTICATE 6300", err)
	}
}

type failingEA struct{}

var errKeyService = errors.New("key service sealed")

func (failingEA) ExternalAuth(context.Context, [16]byte, byte, [8]byte) ([16]byte, error) {
	return [16]byte{}, errKeyService
}

func TestTerminalReadHolderDataAuthenticatorError(t *testing.T) {
	_, err := (&apdu.Terminal{Card: mustCard(t)}).ReadHolderData(context.Background(), failingEA{})
	if !errors.Is(err, errKeyService) {
		t.Fatalf("err = %v, want the key service's error", err)
	}
}

func TestTerminalAuthenticate(t *testing.T) {
	ctx := context.Background()
	challenge := [16]byte(mustHex("A0A1A2A3A4A5A6A7A8A9AAABACADAEAF"))
	auth := &keyAuth{keys: testKeys, challenge: challenge}

	t.Run("genuine", func(t *testing.T) {
		if err := (&apdu.Terminal{Card: mustCard(t)}).Authenticate(ctx, auth); err != nil {
			t.Fatal(err)
		}
		if auth.gotID != testIssuer().CardID || auth.gotVersion != 2 {
			t.Fatalf("Verify got card %X key version %d", auth.gotID, auth.gotVersion)
		}
	})
	t.Run("card with other keys", func(t *testing.T) {
		other := testKeys
		other.InternalAuth[15] ^= 0x80
		c, err := apdu.NewSoftCard(personalization(t, testIssuer(), testHolder(), other))
		if err != nil {
			t.Fatal(err)
		}
		err = (&apdu.Terminal{Card: c}).Authenticate(ctx, auth)
		if !errors.Is(err, errNotGenuine) || !strings.Contains(err.Error(), "320200D156000005AD932A48BDC3B9E9") {
			t.Fatalf("err = %v, want errNotGenuine naming the card", err)
		}
	})
	t.Run("tampered answer", func(t *testing.T) {
		card := &rewriteCard{inner: mustCard(t), rewrite: func(cmd, resp []byte) []byte {
			if cmd[1] == 0x88 && len(resp) == 18 {
				resp[3] ^= 0x01
			}
			return resp
		}}
		if err := (&apdu.Terminal{Card: card}).Authenticate(ctx, auth); !errors.Is(err, errNotGenuine) {
			t.Fatalf("err = %v, want errNotGenuine", err)
		}
	})
	t.Run("short answer", func(t *testing.T) {
		card := &rewriteCard{inner: mustCard(t), rewrite: func(cmd, resp []byte) []byte {
			if cmd[1] == 0x88 {
				return resp[8:]
			}
			return resp
		}}
		if err := (&apdu.Terminal{Card: card}).Authenticate(ctx, auth); err == nil {
			t.Fatal("an 8-byte answer was accepted")
		}
	})
}

func TestTerminalPIN(t *testing.T) {
	ctx := context.Background()
	term := &apdu.Terminal{Card: mustCard(t)}
	if err := term.VerifyPIN(ctx, testPIN); err != nil {
		t.Fatal(err)
	}
	if err := term.ChangePIN(ctx, testPIN, "246810"); err != nil {
		t.Fatal(err)
	}
	if err := term.VerifyPIN(ctx, "246810"); err != nil {
		t.Fatal(err)
	}
	for _, left := range []int{2, 1} {
		err := term.VerifyPIN(ctx, testPIN)
		var se *apdu.StatusError
		if !errors.As(err, &se) {
			t.Fatalf("err = %v, want a StatusError", err)
		}
		if n, ok := se.TriesLeft(); !ok || n != left || se.Blocked() {
			t.Fatalf("TriesLeft = %d, %t; want %d", n, ok, left)
		}
	}
	for _, f := range []func() error{
		func() error { return term.VerifyPIN(ctx, testPIN) },
		func() error { return term.VerifyPIN(ctx, "246810") },
		func() error { return term.ChangePIN(ctx, "246810", testPIN) },
	} {
		var se *apdu.StatusError
		if err := f(); !errors.As(err, &se) || !se.Blocked() {
			t.Fatalf("err = %v, want blocked", err)
		}
	}
}

func TestTerminalPINFormat(t *testing.T) {
	card := &rewriteCard{inner: mustCard(t)}
	term := &apdu.Terminal{Card: card}
	ctx := context.Background()
	for _, err := range []error{
		term.VerifyPIN(ctx, "12345"),
		term.VerifyPIN(ctx, "12345a"),
		term.VerifyPIN(ctx, "1234567"),
		term.ChangePIN(ctx, "12345", "123456"),
		term.ChangePIN(ctx, "123456", "１２３４５６"),
	} {
		if !errors.Is(err, apdu.ErrPINFormat) {
			t.Fatalf("err = %v, want ErrPINFormat", err)
		}
	}
	if card.sent != 0 {
		t.Fatalf("%d APDUs sent for malformed PINs", card.sent)
	}
}

// t0Card answers like a T=0 card seen through a plain reader: data comes only through GET
// RESPONSE, at most 10 bytes at a time, and a READ RECORD with Le=00 first gets 6Cxx.
type t0Card struct {
	inner   apdu.Card
	pending []byte
}

func (c *t0Card) Transmit(ctx context.Context, b []byte) ([]byte, error) {
	cmd, err := apdu.ParseCommand(b)
	if err != nil {
		return c.inner.Transmit(ctx, b)
	}
	if cmd.CLA == 0x00 && cmd.INS == 0xC0 {
		if len(c.pending) == 0 {
			return []byte{0x69, 0x85}, nil
		}
		n := min(cmd.Le, 10, len(c.pending))
		out := append([]byte(nil), c.pending[:n]...)
		c.pending = c.pending[n:]
		if len(c.pending) > 0 {
			return append(out, 0x61, byte(len(c.pending))), nil
		}
		return append(out, 0x90, 0x00), nil
	}
	c.pending = nil
	resp, err := c.inner.Transmit(ctx, b)
	if err != nil {
		return nil, err
	}
	r, err := apdu.ParseResponse(resp)
	if err != nil || len(r.Data) == 0 {
		return resp, err
	}
	if cmd.INS == 0xB2 && cmd.Le == 256 {
		return []byte{0x6C, byte(len(r.Data))}, nil
	}
	c.pending = r.Data
	return []byte{0x61, byte(len(r.Data))}, nil
}

func TestTerminalT0(t *testing.T) {
	ctx := context.Background()
	term := &apdu.Terminal{Card: &t0Card{inner: mustCard(t)}}
	issuer, err := term.ReadIssuerData(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if issuer != testIssuer() {
		t.Fatalf("issuer %+v", issuer)
	}
	if _, err := term.ReadHolderData(ctx, &keyAuth{keys: testKeys}); err != nil {
		t.Fatal(err)
	}
	if err := term.Authenticate(ctx, &keyAuth{keys: testKeys}); err != nil {
		t.Fatal(err)
	}
}

// scripted answers every command with the same bytes.
type scripted struct {
	resp []byte
	err  error
}

func (s scripted) Transmit(context.Context, []byte) ([]byte, error) { return s.resp, s.err }

func TestTerminalBadCards(t *testing.T) {
	ctx := context.Background()
	errGone := errors.New("reader removed")
	tests := []struct {
		name string
		card apdu.Card
		is   error
	}{
		{"no card", nil, nil},
		{"transport error", scripted{err: errGone}, errGone},
		{"one-byte answer", scripted{resp: []byte{0x90}}, apdu.ErrMalformed},
		{"endless 61xx", scripted{resp: []byte{0xAA, 0x61, 0x01}}, nil},
		{"refusal", scripted{resp: []byte{0x6A, 0x82}}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			term := &apdu.Terminal{Card: tc.card}
			err := term.SelectSSSE(ctx)
			if err == nil {
				t.Fatal("SelectSSSE succeeded")
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Fatalf("err = %v, want %v", err, tc.is)
			}
			if _, err := term.ReadIssuerData(ctx); err == nil {
				t.Fatal("ReadIssuerData succeeded")
			}
		})
	}

	// A READ RECORD answer for another tag, or with a wrong length byte, is refused.
	for name, f := range map[string]func([]byte){
		"other tag":   func(b []byte) { b[0] = 0x55 },
		"bad length":  func(b []byte) { b[1]++ },
		"only a byte": nil,
	} {
		t.Run(name, func(t *testing.T) {
			card := &rewriteCard{inner: mustCard(t), rewrite: func(cmd, resp []byte) []byte {
				if cmd[1] != 0xB2 || cmd[2] != 0x03 {
					return resp
				}
				if f == nil {
					return []byte{0x03, 0x90, 0x00}
				}
				f(resp)
				return resp
			}}
			if _, err := (&apdu.Terminal{Card: card}).ReadIssuerData(ctx); err == nil || !strings.Contains(err.Error(), "READ RECORD 03") {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func TestTerminalOnBlankCard(t *testing.T) {
	// A card with empty files: the required records are missing and reported as 6A83.
	p := personalization(t, testIssuer(), testHolder(), testKeys)
	p.EF05, p.EF06 = nil, nil
	c, err := apdu.NewSoftCard(p)
	if err != nil {
		t.Fatal(err)
	}
	_, err = (&apdu.Terminal{Card: c}).ReadIssuerData(context.Background())
	var se *apdu.StatusError
	if !errors.As(err, &se) || se.SW != apdu.SWRecordNotFound {
		t.Fatalf("err = %v, want 6A83", err)
	}
	if !bytes.Contains([]byte(err.Error()), []byte("6A83")) {
		t.Fatalf("message %q", err)
	}
}
