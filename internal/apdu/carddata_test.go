package apdu_test

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shebao/shebao/internal/apdu"
)

func TestIssuerDataRoundTrip(t *testing.T) {
	d := testIssuer()
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	rs := d.Records()
	want := map[byte]string{
		apdu.TagCardID:     "320200D156000005AD932A48BDC3B9E9",
		apdu.TagCardType:   "01",
		apdu.TagVersion:    "332E3030",
		apdu.TagIssueDate:  "20240315",
		apdu.TagExpiryDate: "20340315",
		apdu.TagCardNumber: "42374B333334373734",
		apdu.TagKeyVersion: "02",
	}
	if len(rs) != len(want) {
		t.Fatalf("%d records, want %d", len(rs), len(want))
	}
	for _, r := range rs {
		if !bytes.Equal(r.Value, mustHex(want[r.Tag])) {
			t.Errorf("tag %02X = % X, want %s", r.Tag, r.Value, want[r.Tag])
		}
	}
	got, err := apdu.ParseIssuerData(rs)
	if err != nil {
		t.Fatal(err)
	}
	if got != d {
		t.Fatalf("got %+v, want %+v", got, d)
	}

	// A date's clock time and zone do not matter; only the calendar date is written.
	shanghai := time.FixedZone("CST", 8*3600)
	d.IssueDate = time.Date(2024, 3, 15, 23, 30, 0, 0, shanghai)
	if got, err := apdu.ParseIssuerData(d.Records()); err != nil || !got.IssueDate.Equal(date(2024, 3, 15)) {
		t.Fatalf("issue date %v, %v", got.IssueDate, err)
	}
}

func TestParseIssuerDataTolerates(t *testing.T) {
	rs := testIssuer().Records()
	// No tag 20 (a card not made by shebao), an unknown tag 04, and a card number with padding
	// after its 9 characters.
	rs = slices.DeleteFunc(rs, func(r apdu.Record) bool { return r.Tag == apdu.TagKeyVersion })
	rs = append(rs, apdu.Record{Tag: 0x04, Value: []byte("anything")})
	for i := range rs {
		if rs[i].Tag == apdu.TagCardNumber {
			rs[i].Value = []byte("B7K334774   ")
		}
	}
	got, err := apdu.ParseIssuerData(rs)
	if err != nil {
		t.Fatal(err)
	}
	if got.KeyVersion != 0 || got.CardNumber != "B7K334774" {
		t.Fatalf("got %+v", got)
	}
}

// withRecord returns rs with the value of tag replaced, or the tag removed when value is nil.
func withRecord(rs []apdu.Record, tag byte, value []byte) []apdu.Record {
	out := make([]apdu.Record, 0, len(rs))
	for _, r := range rs {
		if r.Tag != tag {
			out = append(out, r)
		} else if value != nil {
			out = append(out, apdu.Record{Tag: tag, Value: value})
		}
	}
	return out
}

func TestParseIssuerDataRefuses(t *testing.T) {
	base := testIssuer().Records()
	tests := []struct {
		name string
		rs   []apdu.Record
	}{
		{"no records", nil},
		{"no card id", withRecord(base, apdu.TagCardID, nil)},
		{"short card id", withRecord(base, apdu.TagCardID, make([]byte, 15))},
		{"no card type", withRecord(base, apdu.TagCardType, nil)},
		{"card type of 2 bytes", withRecord(base, apdu.TagCardType, []byte{1, 2})},
		{"version of 3 bytes", withRecord(base, apdu.TagVersion, []byte("3.0"))},
		{"version not ASCII", withRecord(base, apdu.TagVersion, []byte{'3', '.', 0, '0'})},
		{"issue date 30 February", withRecord(base, apdu.TagIssueDate, mustHex("20240230"))},
		{"issue date not BCD", withRecord(base, apdu.TagIssueDate, mustHex("2024031A"))},
		{"issue date year 0", withRecord(base, apdu.TagIssueDate, mustHex("00000101"))},
		{"expiry date of 3 bytes", withRecord(base, apdu.TagExpiryDate, mustHex("203403"))},
		{"no expiry date", withRecord(base, apdu.TagExpiryDate, nil)},
		{"card number of 8", withRecord(base, apdu.TagCardNumber, []byte("B7K33477"))},
		{"card number in lower case", withRecord(base, apdu.TagCardNumber, []byte("b7k334774"))},
		{"key version of 2 bytes", withRecord(base, apdu.TagKeyVersion, []byte{1, 2})},
		{"duplicate tag", append(slices.Clone(base), apdu.Record{Tag: apdu.TagCardType, Value: []byte{1}})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := apdu.ParseIssuerData(tc.rs); err == nil {
				t.Fatal("ParseIssuerData accepted it")
			}
		})
	}
}

func TestIssuerDataValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*apdu.IssuerData)
	}{
		{"version of 5", func(d *apdu.IssuerData) { d.Version = "3.000" }},
		{"version not ASCII", func(d *apdu.IssuerData) { d.Version = "三.0" }},
		{"no issue date", func(d *apdu.IssuerData) { d.IssueDate = time.Time{} }},
		{"expiry year 10000", func(d *apdu.IssuerData) { d.ExpiryDate = date(10000, 1, 1) }},
		{"card number of 10", func(d *apdu.IssuerData) { d.CardNumber = "B7K3347740" }},
		{"card number with a dash", func(d *apdu.IssuerData) { d.CardNumber = "B7K-34774" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := testIssuer()
			tc.change(&d)
			if d.Validate() == nil {
				t.Fatal("Validate accepted it")
			}
			// What Records writes for invalid data does not parse back as something else. The
			// one exception is documented: a long card number is read as its first 9 characters.
			if _, err := apdu.ParseIssuerData(d.Records()); err == nil && len(d.CardNumber) <= 9 {
				t.Fatal("ParseIssuerData accepted the records of invalid data")
			}
		})
	}
}

func TestHolderDataRoundTrip(t *testing.T) {
	tests := []struct {
		name   string
		change func(*apdu.HolderData)
		name09 string // hex of the 09 value, "" = do not check
	}{
		{name: "王小明", change: func(*apdu.HolderData) {},
			name09: "CDF5D0A1C3F7" + strings.Repeat("20", 24)},
		{name: "20 characters spill into 4E", change: func(d *apdu.HolderData) { d.Name = "阿卜杜热合曼买买提艾力阿不都克里木古丽娜" }},
		{name: "a character straddles 09 and 4E", change: func(d *apdu.HolderData) { d.Name = "A" + strings.Repeat("王", 20) }},
		{name: "50 bytes exactly", change: func(d *apdu.HolderData) { d.Name = strings.Repeat("王", 25) }},
		{name: "Latin letters and a middle dot", change: func(d *apdu.HolderData) { d.Name = "阿依古丽·Smith" }},
		{name: "no birth place", change: func(d *apdu.HolderData) { d.BirthPlace = [3]byte{} }},
		{name: "female, ethnicity 98", change: func(d *apdu.HolderData) { d.Gender = '2'; d.Ethnicity = 98 }},
		{name: "gender 9", change: func(d *apdu.HolderData) { d.Gender = '9'; d.Ethnicity = 56 }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := testHolder()
			tc.change(&d)
			rs, err := d.Records()
			if err != nil {
				t.Fatal(err)
			}
			got, err := apdu.ParseHolderData(rs)
			if err != nil {
				t.Fatal(err)
			}
			if got != d {
				t.Fatalf("got %+v, want %+v", got, d)
			}
			for _, r := range rs {
				switch r.Tag {
				case apdu.TagName:
					if len(r.Value) != 30 {
						t.Errorf("09 has %d bytes, want 30", len(r.Value))
					}
					if tc.name09 != "" && !bytes.Equal(r.Value, mustHex(tc.name09)) {
						t.Errorf("09 = % X", r.Value)
					}
				case apdu.TagNameExt:
					if len(r.Value) != 20 {
						t.Errorf("4E has %d bytes, want 20", len(r.Value))
					}
				case apdu.TagBirthPlace:
					if d.BirthPlace == [3]byte{} {
						t.Error("0C written for an absent birth place")
					}
				}
			}
		})
	}
}

func TestHolderDataNameSplit(t *testing.T) {
	d := testHolder()
	d.Name = "阿卜杜热合曼买买提艾力阿不都克里木古丽娜" // 20 characters, 40 GBK bytes
	rs, err := d.Records()
	if err != nil {
		t.Fatal(err)
	}
	var n09, n4E []byte
	for _, r := range rs {
		switch r.Tag {
		case apdu.TagName:
			n09 = r.Value
		case apdu.TagNameExt:
			n4E = r.Value
		}
	}
	if len(n09) != 30 || len(n4E) != 20 || bytes.ContainsRune(n09, ' ') {
		t.Fatalf("09 = % X, 4E = % X", n09, n4E)
	}
	if !bytes.HasSuffix(n4E, bytes.Repeat([]byte{' '}, 10)) || bytes.Contains(n4E[:10], []byte{' '}) {
		t.Fatalf("4E should hold 10 name bytes and 10 spaces: % X", n4E)
	}
}

func TestParseHolderDataTolerates(t *testing.T) {
	rs, err := testHolder().Records()
	if err != nil {
		t.Fatal(err)
	}
	// Padding with 00 or FF instead of spaces, an all-blank 4E, and an unknown tag.
	padded := append(mustHex("CDF5D0A1C3F7"), bytes.Repeat([]byte{0x00}, 24)...)
	rs = withRecord(rs, apdu.TagName, padded)
	rs = append(rs, apdu.Record{Tag: apdu.TagNameExt, Value: bytes.Repeat([]byte{0xFF}, 20)})
	rs = append(rs, apdu.Record{Tag: 0x4F, Value: []byte{1}})
	got, err := apdu.ParseHolderData(rs)
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "王小明" {
		t.Fatalf("name %q", got.Name)
	}
}

func TestHolderDataRefuses(t *testing.T) {
	tests := []struct {
		name   string
		change func(*apdu.HolderData)
	}{
		{"ID number of 17", func(d *apdu.HolderData) { d.IDNumber = "11010519491231002" }},
		{"ID number in lower case", func(d *apdu.HolderData) { d.IDNumber = "11010519491231002x" }},
		{"empty name", func(d *apdu.HolderData) { d.Name = "" }},
		{"name with a trailing space", func(d *apdu.HolderData) { d.Name = "王小明 " }},
		{"name with a newline", func(d *apdu.HolderData) { d.Name = "王\n小明" }},
		{"name outside GBK", func(d *apdu.HolderData) { d.Name = "王𠀀" }},
		{"name of 52 bytes", func(d *apdu.HolderData) { d.Name = strings.Repeat("王", 26) }},
		{"gender 3", func(d *apdu.HolderData) { d.Gender = '3' }},
		{"gender as a number", func(d *apdu.HolderData) { d.Gender = 1 }},
		{"ethnicity 0", func(d *apdu.HolderData) { d.Ethnicity = 0 }},
		{"ethnicity 57", func(d *apdu.HolderData) { d.Ethnicity = 57 }},
		{"birth place not BCD", func(d *apdu.HolderData) { d.BirthPlace = [3]byte{0x11, 0x0A, 0x05} }},
		{"no birth date", func(d *apdu.HolderData) { d.BirthDate = time.Time{} }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := testHolder()
			tc.change(&d)
			if _, err := d.Records(); err == nil {
				t.Fatal("Records accepted it")
			}
		})
	}
}

func TestParseHolderDataRefuses(t *testing.T) {
	base, err := testHolder().Records()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		rs   []apdu.Record
	}{
		{"no ID number", withRecord(base, apdu.TagIDNumber, nil)},
		{"no name", withRecord(base, apdu.TagName, nil)},
		{"blank name", withRecord(base, apdu.TagName, bytes.Repeat([]byte{' '}, 30))},
		{"name not GBK", withRecord(base, apdu.TagName, []byte{0x81, 0x20, 0x41})},
		{"name with a control character", withRecord(base, apdu.TagName, []byte{0x41, 0x07, 0x42})},
		{"09 of 31 bytes", withRecord(base, apdu.TagName, bytes.Repeat([]byte{'A'}, 31))},
		{"4E of 21 bytes", append(slices.Clone(base), apdu.Record{Tag: apdu.TagNameExt, Value: bytes.Repeat([]byte{'A'}, 21)})},
		{"no gender", withRecord(base, apdu.TagGender, nil)},
		{"empty gender", withRecord(base, apdu.TagGender, []byte{})},
		{"gender 01", withRecord(base, apdu.TagGender, []byte{0x01})},
		{"ethnicity of 2 bytes", withRecord(base, apdu.TagEthnicity, []byte{0, 1})},
		{"birth place of 2 bytes", withRecord(base, apdu.TagBirthPlace, []byte{0x11, 0x01})},
		{"birth place not BCD", withRecord(base, apdu.TagBirthPlace, []byte{0x11, 0x01, 0xF5})},
		{"birth date 13th month", withRecord(base, apdu.TagBirthDate, mustHex("19491301"))},
		{"no birth date", withRecord(base, apdu.TagBirthDate, nil)},
		{"duplicate tag", append(slices.Clone(base), apdu.Record{Tag: apdu.TagIDNumber, Value: []byte("11010519491231002X")})},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := apdu.ParseHolderData(tc.rs); err == nil {
				t.Fatal("ParseHolderData accepted it")
			}
		})
	}
}

func TestCardID(t *testing.T) {
	for _, s := range []string{"320200D156000005AD932A48BDC3B9E9", "639900D15600000500BF7C7A48FB4966", "330300D15600000599110145FFFFFFFF"} {
		id, err := apdu.ParseCardID(s)
		if err != nil {
			t.Fatal(err)
		}
		if got := apdu.FormatCardID(id); got != s {
			t.Fatalf("FormatCardID = %s, want %s", got, s)
		}
		lower, err := apdu.ParseCardID(strings.ToLower(s))
		if err != nil || lower != id {
			t.Fatalf("lower case: %v", err)
		}
	}
	for _, s := range []string{"", "320200D156000005AD932A48BDC3B9E", "320200D156000005AD932A48BDC3B9E9A0", "320200D156000005AD932A48BDC3B9EG", " 20200D156000005AD932A48BDC3B9E9"} {
		if _, err := apdu.ParseCardID(s); err == nil {
			t.Errorf("ParseCardID(%q) accepted it", s)
		}
	}
}
