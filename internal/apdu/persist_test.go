package apdu_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/shebao/shebao/internal/apdu"
)

func save(t *testing.T, c *apdu.SoftCard) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := c.Save(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func load(t *testing.T, b []byte) *apdu.SoftCard {
	t.Helper()
	c, err := apdu.LoadSoftCard(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSaveLoadKeepsState(t *testing.T) {
	c := predictableCard(t)
	runSteps(t, c, []step{{selectSSSE, apdu.SWOK, ""}, {verifyBad, 0x63C2, ""}})
	saved := save(t, c)

	d := load(t, saved)
	if !bytes.Equal(d.ATR(), testATR) {
		t.Fatalf("ATR % X", d.ATR())
	}
	if again := save(t, d); !bytes.Equal(again, saved) {
		t.Fatalf("saving a loaded card changed it:\n%s\n%s", saved, again)
	}
	good := extAuthAPDU(testKeys.ExternalAuth, mustHex("0001020304050607"))
	d.SetRand(&counter{})
	runSteps(t, d, []step{
		{"00B2010400", apdu.SWNoCurrentEF, ""}, // the session is not saved
		{selectSSSE, apdu.SWOK, ""},
		{verifyAsk, 0x63C2, "-"}, // the counter is
		{selectEF05, apdu.SWOK, ""},
		{"00B2010400", apdu.SWOK, "0110320200D156000005AD932A48BDC3B9E9"},
		{getChal8, apdu.SWOK, "0001020304050607"},
		{good, apdu.SWOK, ""}, // and so are the keys
		{selectEF06, apdu.SWOK, ""},
		{"00B20D0400", apdu.SWOK, "0D0419491231"},
		{verifyOK, apdu.SWOK, ""},
	})
}

func TestSaveLoadBlockedStaysBlocked(t *testing.T) {
	c := mustCard(t)
	runSteps(t, c, []step{
		{selectSSSE, apdu.SWOK, ""}, {verifyBad, 0x63C2, ""}, {verifyBad, 0x63C1, ""}, {verifyBad, apdu.SWAuthBlocked, ""},
	})
	saved := save(t, c)
	var s struct {
		PIN struct {
			TriesLeft int  `json:"triesLeft"`
			Blocked   bool `json:"blocked"`
		} `json:"pin"`
	}
	if err := json.Unmarshal(saved, &s); err != nil || !s.PIN.Blocked || s.PIN.TriesLeft != 0 {
		t.Fatalf("saved PIN state %+v, %v", s.PIN, err)
	}
	runSteps(t, load(t, saved), []step{{selectSSSE, apdu.SWOK, ""}, {verifyOK, apdu.SWAuthBlocked, "-"}})
}

func TestSaveHasNoPIN(t *testing.T) {
	// The counter source makes salt and hash fixed, so the check below cannot pass or fail by chance.
	c := predictableCard(t)
	changed := predictableCard(t)
	runSteps(t, changed, []step{
		{selectSSSE, apdu.SWOK, ""},
		{"805E010007739164FF582047", apdu.SWOK, ""},
		{"805E010007582047FF739164", apdu.SWOK, ""},
	})
	for name, card := range map[string]*apdu.SoftCard{"personalised": c, "after CHANGE PIN": changed} {
		saved := save(t, card)
		for _, needle := range [][]byte{[]byte(testPIN), {0x73, 0x91, 0x64}, []byte("73 91 64")} {
			if bytes.Contains(bytes.ToUpper(saved), bytes.ToUpper(needle)) {
				t.Errorf("%s: saved card contains the PIN as %q:\n%s", name, needle, saved)
			}
		}
		if !bytes.Contains(saved, []byte(`"sm3"`)) || !bytes.Contains(saved, []byte(`"salt"`)) {
			t.Errorf("%s: saved card has no PIN hash:\n%s", name, saved)
		}
	}
}

func TestLoadSoftCardRefuses(t *testing.T) {
	good := string(save(t, mustCard(t)))
	// edit returns the saved card with one JSON value changed.
	edit := func(f func(m map[string]any)) string {
		var m map[string]any
		if err := json.Unmarshal([]byte(good), &m); err != nil {
			t.Fatal(err)
		}
		f(m)
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	pin := func(m map[string]any) map[string]any { return m["pin"].(map[string]any) }
	keys := func(m map[string]any) map[string]any { return m["keys"].(map[string]any) }
	tests := []struct{ name, in string }{
		{"empty", ""},
		{"not JSON", "card"},
		{"null", "null"},
		{"trailing data", good + "{}"},
		{"two cards", good + good},
		{"unknown field", edit(func(m map[string]any) { m["plainPIN"] = "739164" })},
		{"other format", edit(func(m map[string]any) { m["format"] = "other" })},
		{"version 3", edit(func(m map[string]any) { m["version"] = 3 })},
		{"version 0", edit(func(m map[string]any) { m["version"] = 0 })},
		{"version 1 with a transaction key", edit(func(m map[string]any) { m["version"] = 1; delete(m, "atc") })},
		{"version 1 with a counter", edit(func(m map[string]any) { m["version"] = 1; delete(keys(m), "transaction") })},
		{"version 2 without a counter", edit(func(m map[string]any) { delete(m, "atc") })},
		{"counter above FFFF", edit(func(m map[string]any) { m["atc"] = 65536 })},
		{"negative counter", edit(func(m map[string]any) { m["atc"] = -1 })},
		{"counter not a number", edit(func(m map[string]any) { m["atc"] = "1" })},
		{"short transaction key", edit(func(m map[string]any) { keys(m)["transaction"] = "0011" })},
		{"zero transaction key", edit(func(m map[string]any) { keys(m)["transaction"] = strings.Repeat("00", 16) })},
		{"bad hex", edit(func(m map[string]any) { m["atr"] = "3G00" })},
		{"odd hex", edit(func(m map[string]any) { m["atr"] = "3B0" })},
		{"bad ATR", edit(func(m map[string]any) { m["atr"] = "0000" })},
		{"short key", edit(func(m map[string]any) { keys(m)["externalAuth"] = "00112233" })},
		{"missing key", edit(func(m map[string]any) { delete(keys(m), "pin") })},
		{"tag of 2 bytes", edit(func(m map[string]any) { m["ef05"] = []any{map[string]any{"tag": "0101", "value": ""}} })},
		{"tag as a number", edit(func(m map[string]any) { m["ef05"] = []any{map[string]any{"tag": 1, "value": ""}} })},
		{"no tag", edit(func(m map[string]any) { m["ef05"] = []any{map[string]any{"value": ""}} })},
		{"duplicate tag", edit(func(m map[string]any) {
			m["ef06"] = []any{map[string]any{"tag": "08", "value": ""}, map[string]any{"tag": "08", "value": "00"}}
		})},
		{"record too long", edit(func(m map[string]any) {
			m["ef06"] = []any{map[string]any{"tag": "08", "value": strings.Repeat("00", 255)}}
		})},
		{"short salt", edit(func(m map[string]any) { pin(m)["salt"] = "00" })},
		{"short hash", edit(func(m map[string]any) { pin(m)["sm3"] = "00" })},
		{"try limit 0", edit(func(m map[string]any) { pin(m)["tryLimit"] = 0; pin(m)["triesLeft"] = 0; pin(m)["blocked"] = true })},
		{"try limit 16", edit(func(m map[string]any) { pin(m)["tryLimit"] = 16 })},
		{"more tries than the limit", edit(func(m map[string]any) { pin(m)["triesLeft"] = 4 })},
		{"negative tries", edit(func(m map[string]any) { pin(m)["triesLeft"] = -1 })},
		{"blocked with tries left", edit(func(m map[string]any) { pin(m)["blocked"] = true })},
		{"not blocked without tries", edit(func(m map[string]any) { pin(m)["triesLeft"] = 0 })},
		{"too big", good[:len(good)-2] + `, "x": "` + strings.Repeat("A", 1<<20) + `"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := apdu.LoadSoftCard(strings.NewReader(tc.in)); err == nil {
				t.Fatal("LoadSoftCard accepted it")
			}
		})
	}
	// The edit helper itself keeps a good card good.
	if _, err := apdu.LoadSoftCard(strings.NewReader(edit(func(map[string]any) {}))); err != nil {
		t.Fatal(err)
	}
}
