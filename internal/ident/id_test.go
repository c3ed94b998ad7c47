package ident_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shebao/shebao/internal/ident"
)

// today is the fixed business date of every test, so that "in the future" does not move.
var today = time.Date(2025, 6, 30, 0, 0, 0, 0, time.UTC)

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

func TestParseIDNumberValid(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		want   ident.IDNumber
		birth  time.Time
		gender ident.Gender
		kind   ident.Kind
		masked string
	}{
		// The example of GB 11643-1999.
		{"GB 11643 example", "11010519491231002X", "11010519491231002X", date(1949, 12, 31), ident.Female, ident.Resident, "1101**********002X"},
		{"lower-case x", "11010519491231002x", "11010519491231002X", date(1949, 12, 31), ident.Female, ident.Resident, "1101**********002X"},
		{"surrounding space", " \t11010519491231002X \r\n", "11010519491231002X", date(1949, 12, 31), ident.Female, ident.Resident, "1101**********002X"},
		{"ideographic space", "\u300011010519491231002X\u3000", "11010519491231002X", date(1949, 12, 31), ident.Female, ident.Resident, "1101**********002X"},
		// python-stdnum stdnum/cn/ric.py and tests/test_cn_ric.doctest.
		{"stdnum 360426199101010071", "360426199101010071", "360426199101010071", date(1991, 1, 1), ident.Male, ident.Resident, "3604**********0071"},
		{"stdnum 44011320141005001x", "44011320141005001x", "44011320141005001X", date(2014, 10, 5), ident.Male, ident.Resident, "4401**********001X"},
		{"stdnum 412723199010050012", "412723199010050012", "412723199010050012", date(1990, 10, 5), ident.Male, ident.Resident, "4127**********0012"},
		{"stdnum 110102199101010078", "110102199101010078", "110102199101010078", date(1991, 1, 1), ident.Male, ident.Resident, "1101**********0078"},
		{"stdnum 120110198012010073", "120110198012010073", "120110198012010073", date(1980, 12, 1), ident.Male, ident.Resident, "1201**********0073"},
		{"stdnum 120110199212010072", "120110199212010072", "120110199212010072", date(1992, 12, 1), ident.Male, ident.Resident, "1201**********0072"},
		// python-stdnum refuses this one for its unknown birth place; 99 is shebao's own prefix.
		{"stdnum 990426199112010074 is system assigned here", "990426199112010074", "990426199112010074", date(1991, 12, 1), ident.Male, ident.SystemAssigned, "9904**********0074"},
		{"leap day 2000", "110105200002290021", "110105200002290021", date(2000, 2, 29), ident.Female, ident.Resident, "1101**********0021"},
		{"born today", "110105202506300018", "110105202506300018", date(2025, 6, 30), ident.Male, ident.Resident, "1101**********0018"},
		{"Hong Kong permit", "810000199001010019", "810000199001010019", date(1990, 1, 1), ident.Male, ident.HKMacaoTaiwan, "8100**********0019"},
		{"Macao permit", "820000198506150022", "820000198506150022", date(1985, 6, 15), ident.Female, ident.HKMacaoTaiwan, "8200**********0022"},
		{"Taiwan permit", "830000200109100031", "830000200109100031", date(2001, 9, 10), ident.Male, ident.HKMacaoTaiwan, "8300**********0031"},
		{"foreign permanent", "911156198001010016", "911156198001010016", date(1980, 1, 1), ident.Male, ident.ForeignPermanent, "9111**********0016"},
		{"foreign permanent, female", "933840197503200029", "933840197503200029", date(1975, 3, 20), ident.Female, ident.ForeignPermanent, "9338**********0029"},
		{"system assigned", "990105199001010014", "990105199001010014", date(1990, 1, 1), ident.Male, ident.SystemAssigned, "9901**********0014"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, err := ident.ParseIDNumber(tc.in, today)
			if err != nil {
				t.Fatalf("ParseIDNumber(%q): %v", tc.in, err)
			}
			if n != tc.want || n.String() != string(tc.want) {
				t.Errorf("got %q, want %q", n, tc.want)
			}
			if got := n.BirthDate(); !got.Equal(tc.birth) || got.Location() != time.UTC {
				t.Errorf("BirthDate = %v, want %v UTC", got, tc.birth)
			}
			if got := n.Gender(); got != tc.gender {
				t.Errorf("Gender = %q, want %q", got, tc.gender)
			}
			if got := n.Kind(); got != tc.kind {
				t.Errorf("Kind = %q, want %q", got, tc.kind)
			}
			if got := n.Masked(); got != tc.masked {
				t.Errorf("Masked = %q, want %q", got, tc.masked)
			}
			if got := n.AddressCode(); got != string(tc.want[:6]) {
				t.Errorf("AddressCode = %q, want %q", got, tc.want[:6])
			}
		})
	}
}

func TestParseIDNumberInvalid(t *testing.T) {
	tests := []struct {
		name  string
		in    string
		class error
		msg   string
	}{
		{"wrong check, GB 11643 example", "110105194912310021", ident.ErrCheck, "check character should be X"},
		{"wrong check, stdnum", "36042619910102009X", ident.ErrCheck, "check character should be 3"},
		{"upper-case X where a digit belongs", "11010519491231002Y", ident.ErrCharacter, "character 18 must be a digit or X"},
		{"X inside", "1101051949123100X2", ident.ErrCharacter, "character 17 must be a digit"},
		{"stdnum letter first", "T60426199101010078", ident.ErrCharacter, "character 1 must be a digit"},
		{"full-width digit", "１10105194912310021", ident.ErrCharacter, "character 1 must be a digit"},
		{"Chinese characters", strings.Repeat("号", 18), ident.ErrCharacter, "character 1 must be a digit"},
		{"invalid UTF-8", "\xff10105194912310021", ident.ErrCharacter, "character 1 must be a digit"},
		{"inner space", "110105 9491231002X", ident.ErrCharacter, "character 7 must be a digit"},
		{"empty", "", ident.ErrLength, "must not be empty"},
		{"only space", "   ", ident.ErrLength, "must not be empty"},
		{"too short", "11010519491231002", ident.ErrLength, "must be 18 characters, got 17"},
		{"too long", "11010519491231002X0", ident.ErrLength, "must be 18 characters, got 19"},
		{"old 15-digit number", "110105491231002", ident.ErrLength, "must be 18 characters, got 15"},
		{"huge", strings.Repeat("1", 1<<20), ident.ErrLength, "must be 18 characters"},
		{"30 February", "110105199902300015", ident.ErrBirthDate, "birth date 19990230 does not exist"},
		{"month 13, stdnum", "360426199113010079", ident.ErrBirthDate, "birth date 19911301 does not exist"},
		{"month 0", "110105199900010015", ident.ErrBirthDate, "birth date 19990001 does not exist"},
		{"day 0", "110105199901000015", ident.ErrBirthDate, "birth date 19990100 does not exist"},
		{"day 32", "110105199901320015", ident.ErrBirthDate, "birth date 19990132 does not exist"},
		{"1900 is not a leap year", "110105190002290017", ident.ErrBirthDate, "birth date 19000229 does not exist"},
		{"before 1900", "110105189912310015", ident.ErrBirthDate, "birth year 1899 is before 1900"},
		{"tomorrow", "110105202507010012", ident.ErrBirthDate, "birth date is in the future"},
		{"far future", "110105299912310011", ident.ErrBirthDate, "birth date is in the future"},
		{"unknown province 16", "160105199001010011", ident.ErrRegion, "address code 160105 is not a known region"},
		{"Taiwan 71 is not on IDs", "710000199001010011", ident.ErrRegion, "address code 710000 is not a known region"},
		{"81 other than 810000", "810100199001010011", ident.ErrRegion, "address code 810100 is not a known region"},
		{"address zero", "000000199001010011", ident.ErrRegion, "address code 000000 is not a known region"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n, err := ident.ParseIDNumber(tc.in, today)
			if err == nil {
				t.Fatalf("ParseIDNumber accepted %q as %q", tc.in, n)
			}
			if n != "" {
				t.Errorf("returned %q with the error", n)
			}
			if err.Error() != tc.msg {
				t.Errorf("message %q, want %q", err, tc.msg)
			}
			if !errors.Is(err, tc.class) {
				t.Errorf("error %q is not %v", err, tc.class)
			}
			var e *ident.Error
			if !errors.As(err, &e) {
				t.Errorf("error %T is not *ident.Error", err)
			}
		})
	}
}

// The business date is a calendar date in Asia/Shanghai: late evening UTC is already the next day
// there, and a child born that day must be accepted.
func TestParseIDNumberTodayIsCalendarDate(t *testing.T) {
	shanghai := time.FixedZone("CST", 8*3600) // Asia/Shanghai has had no DST since 1991
	utcEvening := time.Date(2025, 6, 30, 23, 30, 0, 0, time.UTC)
	born := "110105202507010012" // 1 July 2025

	if _, err := ident.ParseIDNumber(born, utcEvening); err == nil {
		t.Error("accepted a birth on 1 July when today is 30 June (UTC)")
	}
	if _, err := ident.ParseIDNumber(born, utcEvening.In(shanghai)); err != nil {
		t.Errorf("refused a birth on 1 July when today is 1 July in Shanghai: %v", err)
	}
	if _, err := ident.ParseIDNumber(born, time.Time{}); err == nil {
		t.Error("a zero today must refuse everything")
	}
}

func TestIDCheckChar(t *testing.T) {
	tests := []struct {
		in   string
		want byte
	}{
		{"11010519491231002", 'X'},
		{"36042619910101007", '1'},
		{"44011320141005001", 'X'},
		{"11010219910101007", '8'},
		{"1101051949123100", 0},   // 16 digits
		{"110105194912310021", 0}, // 18 digits
		{"1101051949123100X", 0},
		{"", 0},
	}
	for _, tc := range tests {
		if got := ident.IDCheckChar(tc.in); got != tc.want {
			t.Errorf("IDCheckChar(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	// Every remainder 0..10 is reached, and each maps to its own character.
	seen := map[byte]bool{}
	for i := range 1000 {
		seen[ident.IDCheckChar(fmt.Sprintf("11010519900101%03d", i))] = true
	}
	if len(seen) != 11 {
		t.Errorf("check characters seen: %d, want 11", len(seen))
	}
}

func TestMakeIDNumber(t *testing.T) {
	n, err := ident.MakeIDNumber("11010519491231002")
	if err != nil || n != "11010519491231002X" {
		t.Fatalf("MakeIDNumber = %q, %v; want 11010519491231002X", n, err)
	}
	for _, bad := range []struct{ in, msg string }{
		{"1101051949123100A", "character 17 must be a digit"},
		{"1101051949123100", "must be 17 characters, got 16"},
		{"11010519990230001", "birth date 19990230 does not exist"},
		{"16010519900101001", "address code 160105 is not a known region"},
	} {
		if n, err := ident.MakeIDNumber(bad.in); err == nil || err.Error() != bad.msg {
			t.Errorf("MakeIDNumber(%q) = %q, %v; want error %q", bad.in, n, err, bad.msg)
		}
	}
}

// Every number MakeIDNumber builds parses, with the birth date and gender it was built from.
func TestMakeIDNumberParses(t *testing.T) {
	regions := []string{"110105", "330106", "650102", "460100", "500101", "810000", "820000", "830000", "911156", "990105"}
	births := []time.Time{date(1900, 1, 1), date(1949, 12, 31), date(1996, 2, 29), date(2000, 2, 29), date(2024, 12, 31), today}
	for _, region := range regions {
		for _, birth := range births {
			for seq := 0; seq < 1000; seq += 37 {
				first17 := fmt.Sprintf("%s%s%03d", region, birth.Format("20060102"), seq)
				n, err := ident.MakeIDNumber(first17)
				if err != nil {
					t.Fatalf("MakeIDNumber(%q): %v", first17, err)
				}
				p, err := ident.ParseIDNumber(string(n), today)
				if err != nil || p != n {
					t.Fatalf("ParseIDNumber(%q) = %q, %v", n, p, err)
				}
				if !p.BirthDate().Equal(birth) {
					t.Errorf("%s: BirthDate %v, want %v", n, p.BirthDate(), birth)
				}
				if want := map[bool]ident.Gender{true: ident.Male, false: ident.Female}[seq%2 == 1]; p.Gender() != want {
					t.Errorf("%s: Gender %q, want %q", n, p.Gender(), want)
				}
				// A changed check character is always refused, and the message names the real one.
				for _, c := range "0123456789X" {
					if byte(c) == n[17] {
						continue
					}
					changed := string(n[:17]) + string(c)
					_, err := ident.ParseIDNumber(changed, today)
					if want := "check character should be " + string(n[17]); err == nil || err.Error() != want {
						t.Fatalf("ParseIDNumber(%q) = %v, want %q", changed, err, want)
					}
				}
			}
		}
	}
}

func TestAssignIDNumber(t *testing.T) {
	seen := map[ident.IDNumber]bool{}
	for _, g := range []ident.Gender{ident.Male, ident.Female} {
		for _, birth := range []time.Time{date(1900, 1, 1), date(1985, 7, 4), date(2000, 2, 29), today} {
			for seq := 1; seq <= 499; seq++ {
				n, err := ident.AssignIDNumber("330106", birth, g, seq, today)
				if err != nil {
					t.Fatalf("AssignIDNumber(330106, %v, %s, %d): %v", birth, g, seq, err)
				}
				if seen[n] {
					t.Fatalf("%s assigned twice", n)
				}
				seen[n] = true
				p, err := ident.ParseIDNumber(string(n), today)
				if err != nil || p != n {
					t.Fatalf("ParseIDNumber(%q) = %q, %v", n, p, err)
				}
				if p.Kind() != ident.SystemAssigned || p.AddressCode() != "990106" {
					t.Errorf("%s: Kind %q, AddressCode %q", n, p.Kind(), p.AddressCode())
				}
				if !p.BirthDate().Equal(birth) || p.Gender() != g {
					t.Errorf("%s: BirthDate %v Gender %q, want %v %q", n, p.BirthDate(), p.Gender(), birth, g)
				}
				if s := n[14:17]; s == "000" || s == "999" {
					t.Errorf("%s uses sequence %s", n, s)
				}
			}
		}
	}

	// The birth date is the calendar date where the person was born, and the business date is
	// compared as a calendar date too.
	shanghai := time.FixedZone("CST", 8*3600)
	n, err := ident.AssignIDNumber("330106", time.Date(2025, 7, 1, 1, 0, 0, 0, shanghai), ident.Female, 1, time.Date(2025, 7, 1, 9, 0, 0, 0, shanghai))
	if err != nil || n != "990106202507010020" {
		t.Errorf("AssignIDNumber in Shanghai = %q, %v", n, err)
	}

	for _, bad := range []struct {
		name   string
		region string
		birth  time.Time
		g      ident.Gender
		seq    int
		class  error
		msg    string
	}{
		{"short region", "33010", date(1985, 7, 4), ident.Male, 1, ident.ErrRegion, "region must be a 6-digit mainland region code"},
		{"letter in region", "33010A", date(1985, 7, 4), ident.Male, 1, ident.ErrRegion, "region must be a 6-digit mainland region code"},
		{"not a province", "990106", date(1985, 7, 4), ident.Male, 1, ident.ErrRegion, "region must be a 6-digit mainland region code"},
		{"no gender", "330106", date(1985, 7, 4), "", 1, ident.ErrArgument, "gender must be male or female"},
		{"seq 0", "330106", date(1985, 7, 4), ident.Male, 0, ident.ErrArgument, "sequence must be 1 to 499"},
		{"seq 500", "330106", date(1985, 7, 4), ident.Female, 500, ident.ErrArgument, "sequence must be 1 to 499"},
		{"seq negative", "330106", date(1985, 7, 4), ident.Female, -1, ident.ErrArgument, "sequence must be 1 to 499"},
		{"future birth", "330106", today.AddDate(0, 0, 1), ident.Male, 1, ident.ErrBirthDate, "birth date is in the future"},
		{"zero birth", "330106", time.Time{}, ident.Male, 1, ident.ErrBirthDate, "birth year 0001 is before 1900"},
	} {
		t.Run(bad.name, func(t *testing.T) {
			n, err := ident.AssignIDNumber(bad.region, bad.birth, bad.g, bad.seq, today)
			if err == nil || err.Error() != bad.msg || !errors.Is(err, bad.class) {
				t.Errorf("AssignIDNumber = %q, %v; want %q (%v)", n, err, bad.msg, bad.class)
			}
		})
	}
}

// Methods on an IDNumber that did not come from this package give zero values, never a panic.
func TestIDNumberZeroAndForeign(t *testing.T) {
	for _, n := range []ident.IDNumber{"", "abc", "ABCDEFGHIJKLMNOPQR", "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"} {
		if !n.BirthDate().IsZero() || n.Gender() != "" || n.Kind() != "" {
			t.Errorf("%q: BirthDate %v, Gender %q, Kind %q", n, n.BirthDate(), n.Gender(), n.Kind())
		}
		if len(n) != 18 && (n.Masked() != "" || n.AddressCode() != "") {
			t.Errorf("%q: Masked %q, AddressCode %q", n, n.Masked(), n.AddressCode())
		}
	}
}

// slog writes the masked form, so a logged person never leaves a full ID number in a log file.
func TestIDNumberLogValue(t *testing.T) {
	n := ident.IDNumber("11010519491231002X")
	if got := n.LogValue().String(); got != "1101**********002X" {
		t.Errorf("LogValue = %q", got)
	}
}

func BenchmarkParseIDNumber(b *testing.B) {
	for b.Loop() {
		if _, err := ident.ParseIDNumber("11010519491231002x", today); err != nil {
			b.Fatal(err)
		}
	}
}
