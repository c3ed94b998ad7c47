package auth

import (
	"testing"
	"time"
)

// FuzzMatchTOTP: a code typed by anyone never panics, and is accepted only when it is one of the
// three codes of its window.
func FuzzMatchTOTP(f *testing.F) {
	const secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
	for _, s := range []string{"123456", "", "12345", "1234567", "abcdef", "０１２３４５", "287082"} {
		f.Add(s, int64(59))
	}
	f.Fuzz(func(t *testing.T, code string, unix int64) {
		at := time.Unix(unix%(1<<40), 0)
		step, ok := MatchTOTP(secret, code, at)
		if !ok {
			return
		}
		want, err := TOTPCode(secret, time.Unix(step*30, 0))
		if err != nil || want != code || step < at.Unix()/30-1 || step > at.Unix()/30+1 {
			t.Fatalf("MatchTOTP(%q, %v) accepted step %d (code there %q)", code, at, step, want)
		}
	})
}

// FuzzCheckStrength: any password and name typed in never panics, and what passes is at least
// MinPasswordLen characters and at most 200 bytes.
func FuzzCheckStrength(f *testing.F) {
	for _, s := range []string{"aaaaaaaaaa", "correct horse battery", "社会保险卡的新密码啊", "", "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"} {
		f.Add(s, "alice")
	}
	f.Fuzz(func(t *testing.T, password, name string) {
		if CheckStrength(password, name) == nil && (len([]rune(password)) < MinPasswordLen || len(password) > 200) {
			t.Fatalf("CheckStrength accepted %q", password)
		}
	})
}
