package web

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"
)

// A portal action answers with a redirect (so that reloading the page does not repeat it), and the
// page it leads to says what was done: "卡已交付给 张三 / Card handed over to 张三". The notice
// travels in a short-lived cookie holding a message key and its arguments, never the text itself;
// the page that renders next shows it once, in the reader's language, and removes the cookie.

const flashCookie = "shebao_notice"

// flash is what the cookie holds.
type flash struct {
	Key  string   `json:"k"`
	Args []string `json:"a,omitempty"`
}

const (
	flashMaxArgs   = 3
	flashMaxArgLen = 64 // runes of one argument: a name, a card number, an outlet
)

// setFlash leaves a notice for the next page. key must be a "flash." message whose text takes as
// many %s as args are given.
func (s *Server) setFlash(w http.ResponseWriter, r *http.Request, key string, args ...string) {
	if len(args) > flashMaxArgs {
		args = args[:flashMaxArgs]
	}
	for i, a := range args {
		if utf8.RuneCountInString(a) > flashMaxArgLen {
			args[i] = string([]rune(a)[:flashMaxArgLen]) + "…"
		}
	}
	b, _ := json.Marshal(flash{Key: key, Args: args})
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: base64.RawURLEncoding.EncodeToString(b), Path: "/", MaxAge: 60,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.SecureCookies || r.TLS != nil})
}

// takeFlash returns the notice left for this page in the reader's language, and removes it. A
// cookie that does not name a known notice with the right number of arguments shows nothing.
func (s *Server) takeFlash(w http.ResponseWriter, r *http.Request, l lang) string {
	c, err := r.Cookie(flashCookie)
	if err != nil {
		return ""
	}
	http.SetCookie(w, &http.Cookie{Name: flashCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: s.SecureCookies || r.TLS != nil})
	return flashText(c.Value, l)
}

// flashText decodes a notice cookie's value into its text, or "" when it is not one.
func flashText(value string, l lang) string {
	b, err := base64.RawURLEncoding.DecodeString(value)
	if err != nil || len(b) > 1024 {
		return ""
	}
	var f flash
	if json.Unmarshal(b, &f) != nil || !strings.HasPrefix(f.Key, "flash.") || len(f.Args) > flashMaxArgs {
		return ""
	}
	m, ok := messages[f.Key]
	if !ok || strings.Count(m[0], "%s") != len(f.Args) || strings.Count(m[1], "%s") != len(f.Args) {
		return ""
	}
	args := make([]any, len(f.Args))
	for i, a := range f.Args {
		if utf8.RuneCountInString(a) > flashMaxArgLen+1 {
			return ""
		}
		args[i] = a
	}
	return fmt.Sprintf(l.T(f.Key), args...)
}
