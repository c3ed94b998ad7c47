package notify

import (
	"strings"
	"testing"
)

// FuzzMobile: ValidMobile accepts exactly 11 ASCII digits from 13… to 19…, and MaskMobile never
// shows more than the first three and last four characters of anything.
func FuzzMobile(f *testing.F) {
	for _, s := range []string{"13800000001", "12800000001", "1380000000", "138000000012", "１３８００００００01", "", "13800000001\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ok := len(s) == 11 && s[0] == '1' && s[1] >= '3' && s[1] <= '9' && strings.Trim(s, "0123456789") == ""
		if got := ValidMobile(s); got != ok {
			t.Fatalf("ValidMobile(%q) = %v, want %v", s, got, ok)
		}
		m := MaskMobile(s)
		if len(s) == 11 {
			if m != s[:3]+"****"+s[7:] {
				t.Fatalf("MaskMobile(%q) = %q", s, m)
			}
		} else if m != "***" {
			t.Fatalf("MaskMobile(%q) = %q", s, m)
		}
	})
}
