package contrib

import "testing"

// A payer that parses is written the one way bills store it, so it finds them.
func FuzzParsePayer(f *testing.F) {
	for _, s := range []string{"employer:7", "person:123456", "employer:07", "employer:+7", "person:-1", "employer:", ":7", "bank:1", "employer:9223372036854775808"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		kind, id, err := ParsePayer(s)
		if err != nil {
			return
		}
		if id <= 0 {
			t.Fatalf("%q parsed to id %d", s, id)
		}
		canonical := EmployerPayer(id)
		if kind == "person" {
			canonical = PersonPayer(id)
		}
		if canonical != s {
			t.Fatalf("%q parsed to %s %d, written %q", s, kind, id, canonical)
		}
	})
}
