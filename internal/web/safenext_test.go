package web

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// redirectTarget is the Location http.Redirect writes for target, as the login handler sends it.
func redirectTarget(target string) string {
	w := httptest.NewRecorder()
	http.Redirect(w, httptest.NewRequest("POST", "/login", nil), target, http.StatusSeeOther)
	return w.Header().Get("Location")
}

// checkLocal fails unless loc is "/" or one "/" followed by a character that is neither "/" nor
// "\", free of anything a browser would drop or reinterpret, and stays on this site when a
// browser resolves it.
func checkLocal(t *testing.T, in, loc string) {
	t.Helper()
	if loc != "/" && (len(loc) < 2 || loc[0] != '/' || loc[1] == '/' || loc[1] == '\\') {
		t.Fatalf("safeNext(%q) redirects to %q", in, loc)
	}
	if strings.ContainsFunc(loc, func(r rune) bool { return r <= ' ' || r >= 0x7f || r == '\\' }) {
		t.Fatalf("safeNext(%q) redirects to %q, which holds a character browsers reinterpret", in, loc)
	}
	base, _ := url.Parse("https://shebao.example/login")
	ref, err := url.Parse(loc)
	if err != nil {
		t.Fatalf("safeNext(%q) redirects to %q, which is not a URL: %v", in, loc, err)
	}
	if got := base.ResolveReference(ref); got.Host != base.Host || got.Scheme != base.Scheme {
		t.Fatalf("safeNext(%q) redirects to %q, which leaves the site (%s)", in, loc, got)
	}
}

func TestSafeNext(t *testing.T) {
	for in, want := range map[string]string{
		"/cards":             "/cards",
		"/cards?id=3&x=%2F":  "/cards?id=3&x=%2F",
		"/staff/":            "/staff/",
		"/":                  "/",
		"":                   "/",
		"/./\\host":          "/", // the finding: cleaned by http.Redirect to /\host
		"/\\host":            "/",
		"/a\\b":              "/",
		"//host":             "/",
		"/.//host":           "/",
		"/../host":           "/",
		"/a/../b":            "/",
		"/\t/host":           "/",
		"/\n/host":           "/",
		"/a b":               "/",
		"https://host/":      "/",
		"host":               "/",
		"/%5Chost":           "/%5Chost", // an escaped backslash stays a path character
		"/é":                 "/",
		"javascript:alert()": "/",
	} {
		got := safeNext(in)
		if got != want {
			t.Errorf("safeNext(%q) = %q; want %q", in, got, want)
		}
		if loc := redirectTarget(got); loc != got {
			t.Errorf("safeNext(%q) = %q, but http.Redirect sends %q", in, got, loc)
		}
	}
}

// FuzzSafeNext: whatever next a visitor sends, the Location after login is on this site, and it is
// exactly what safeNext checked.
func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/./\\host", "/\\host", "//host", "/cards?x=1", "/\t/x", "/a/../b", "/%2F%2Fhost", "/?next=//x", "/a#//b", "/..;/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, next string) {
		got := safeNext(next)
		loc := redirectTarget(got)
		if loc != got {
			t.Fatalf("safeNext(%q) = %q, but http.Redirect sends %q", next, got, loc)
		}
		checkLocal(t, next, loc)
		// The login form hands next on in a hidden field and checks it again when it is posted:
		// what passed once passes unchanged.
		if again := safeNext(got); again != got {
			t.Fatalf("safeNext is not stable: %q → %q → %q", next, got, again)
		}
	})
}
