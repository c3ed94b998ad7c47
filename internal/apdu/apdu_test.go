package apdu_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/shebao/shebao/internal/apdu"
)

func TestParseCommand(t *testing.T) {
	data255 := strings.Repeat("AB", 255)
	tests := []struct {
		name string
		in   string
		want apdu.Command
	}{
		{"case 1", "00A40000", apdu.Command{CLA: 0x00, INS: 0xA4, Le: -1}},
		{"case 2", "0084000008", apdu.Command{INS: 0x84, Le: 8}},
		{"case 2 Le=00 is 256", "00B2010400", apdu.Command{INS: 0xB2, P1: 0x01, P2: 0x04, Le: 256}},
		{"case 3", "00A4020002EF05", apdu.Command{INS: 0xA4, P1: 0x02, Data: []byte{0xEF, 0x05}, Le: -1}},
		{"case 4", "0088000002AABB10", apdu.Command{INS: 0x88, Data: []byte{0xAA, 0xBB}, Le: 16}},
		{"case 4 Le=00", "805E010001FF00", apdu.Command{CLA: 0x80, INS: 0x5E, P1: 0x01, Data: []byte{0xFF}, Le: 256}},
		{"case 3 Lc=255", "00DA0000FF" + data255, apdu.Command{INS: 0xDA, Data: mustHex(data255), Le: -1}},
		{"case 4 Lc=255 Le=00", "00DA0000FF" + data255 + "00", apdu.Command{INS: 0xDA, Data: mustHex(data255), Le: 256}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			in := mustHex(tc.in)
			got, err := apdu.ParseCommand(in)
			if err != nil {
				t.Fatal(err)
			}
			if got.CLA != tc.want.CLA || got.INS != tc.want.INS || got.P1 != tc.want.P1 || got.P2 != tc.want.P2 ||
				!bytes.Equal(got.Data, tc.want.Data) || got.Le != tc.want.Le {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
			if (tc.want.Data == nil) != (got.Data == nil) {
				t.Fatalf("Data nil is %t, want %t", got.Data == nil, tc.want.Data == nil)
			}
			if b := got.Bytes(); !bytes.Equal(b, in) {
				t.Fatalf("Bytes() = % X, want % X", b, in)
			}
			// The command must not alias the input.
			if len(got.Data) > 0 {
				in[5] ^= 0xFF
				if got.Data[0] != tc.want.Data[0] {
					t.Fatal("Data shares memory with the input")
				}
			}
		})
	}
}

func TestParseCommandMalformed(t *testing.T) {
	tests := []struct{ name, in string }{
		{"empty", ""},
		{"1 byte", "00"},
		{"3 bytes", "00A404"},
		{"extended case 2 (00 Le Le)", "00B20104000100"},
		{"extended case 3 (00 Lc Lc data)", "00A4040000000211 22"},
		{"Lc=00 with data", "00A4040000AA"},
		{"Lc=00 then Le", "00A404000000"},
		{"truncated data", "00A4040005AABBCC"},
		{"Lc=02 with one data byte", "00A4040002AA"},
		{"trailing byte after Le", "00A4020002EF050000"},
		{"two trailing bytes", "00A4020001EF050000"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := apdu.ParseCommand(mustHex(tc.in))
			if !errors.Is(err, apdu.ErrMalformed) {
				t.Fatalf("err = %v, want ErrMalformed", err)
			}
		})
	}
}

func TestCommandValidate(t *testing.T) {
	bad := []apdu.Command{
		{Le: 0},
		{Le: 257},
		{Le: -2},
		{Data: make([]byte, 256), Le: -1},
	}
	for _, c := range bad {
		if c.Validate() == nil {
			t.Errorf("Validate(%+v) = nil, want an error", c)
		}
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Bytes(%+v) did not panic", c)
				}
			}()
			c.Bytes()
		}()
	}
	// Empty non-nil data is written as no data at all.
	c := apdu.Command{INS: 0x84, Data: []byte{}, Le: 8}
	if got := c.Bytes(); !bytes.Equal(got, mustHex("0084000008")) {
		t.Fatalf("Bytes() = % X", got)
	}
}

func TestParseResponse(t *testing.T) {
	r, err := apdu.ParseResponse(mustHex("0110AABB9000"))
	if err != nil || r.SW != 0x9000 || !r.OK() || !bytes.Equal(r.Data, mustHex("0110AABB")) {
		t.Fatalf("got %+v, %v", r, err)
	}
	if !bytes.Equal(r.Bytes(), mustHex("0110AABB9000")) {
		t.Fatalf("Bytes() = % X", r.Bytes())
	}
	r, err = apdu.ParseResponse(mustHex("6A82"))
	if err != nil || r.SW != apdu.SWFileNotFound || r.OK() || r.Data != nil {
		t.Fatalf("got %+v, %v", r, err)
	}
	for _, in := range []string{"", "90"} {
		if _, err := apdu.ParseResponse(mustHex(in)); !errors.Is(err, apdu.ErrMalformed) {
			t.Errorf("ParseResponse(%q) err = %v", in, err)
		}
	}
}

func TestStatusWords(t *testing.T) {
	if apdu.SWTriesLeft(2) != 0x63C2 || apdu.SWTriesLeft(15) != 0x63CF {
		t.Fatal("SWTriesLeft")
	}
	if apdu.SWWrongLe(0x12) != 0x6C12 || apdu.SWWrongLe(256) != 0x6C00 {
		t.Fatal("SWWrongLe")
	}
	e := &apdu.StatusError{Command: "VERIFY", SW: 0x63C1}
	if n, ok := e.TriesLeft(); !ok || n != 1 || e.Blocked() {
		t.Fatalf("TriesLeft = %d, %t", n, ok)
	}
	if !strings.Contains(e.Error(), "63C1") || !strings.Contains(e.Error(), "VERIFY") {
		t.Fatalf("Error() = %q", e.Error())
	}
	e = &apdu.StatusError{Command: "VERIFY", SW: apdu.SWAuthBlocked}
	if _, ok := e.TriesLeft(); ok || !e.Blocked() {
		t.Fatal("6983 must be Blocked and have no tries count")
	}
}

// Known answers from the SM4 standard (GB/T 32907-2016, example 1): key = plain text =
// 0123456789ABCDEFFEDCBA9876543210. For the external cryptogram, challenge 0123456789ABCDEF makes
// exactly that plain text, since its complement is FEDCBA9876543210.
func TestCryptograms(t *testing.T) {
	key := [16]byte(mustHex("0123456789ABCDEFFEDCBA9876543210"))
	want := [16]byte(mustHex("681EDF34D206965E86B3E94F536E4246"))
	if got := apdu.InternalAuthCryptogram(key, key); got != want {
		t.Fatalf("InternalAuthCryptogram = % X", got)
	}
	if got := apdu.ExternalAuthCryptogram(key, [8]byte(mustHex("0123456789ABCDEF"))); got != want {
		t.Fatalf("ExternalAuthCryptogram = % X", got)
	}
}
