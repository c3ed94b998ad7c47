package web

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"

	"github.com/shebao/shebao/internal/errs"
)

// Every list of the API pages the same way (docs/api.md, "Lists"): limit, a cursor that is exactly
// the previous page's next, and next "" at the end. A cursor is an id or a code where the list is
// ordered by one; a list ordered by several columns packs them into one opaque string.

// badCursor is the problem of a cursor no page of the list gave.
func badCursor() error { return errs.Field("cursor", "the next of the previous page") }

// cursorID reads a cursor that is a positive id; 0 when there is none.
func cursorID(r *http.Request) (int64, error) {
	c := r.URL.Query().Get("cursor")
	if c == "" {
		return 0, nil
	}
	id, err := strconv.ParseInt(c, 10, 64)
	if err != nil || id < 1 {
		return 0, badCursor()
	}
	return id, nil
}

// idPage reads the limit (at most max) and the id cursor of a list paged by id.
func idPage(r *http.Request, max int) (limit int, after int64, err error) {
	if limit, err = listLimit(r, max); err != nil {
		return 0, 0, err
	}
	after, err = cursorID(r)
	return limit, after, err
}

// cursorKey reads a cursor that is a username or a code (an institution's, an outlet's, a
// transfer's number): "" when there is none. Those are letters, digits, '.', '_' and '-', so
// anything else is no next any page gave.
func cursorKey(r *http.Request) (string, error) {
	c := r.URL.Query().Get("cursor")
	if len(c) > 100 || strings.Trim(c, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ._-") != "" {
		return "", badCursor()
	}
	return c, nil
}

// packCursor joins a composite key into an opaque cursor: base64url of its parts joined by "/".
// Only the last part may hold a "/" (a name, say), so it goes last.
func packCursor(parts ...string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strings.Join(parts, "/")))
}

// unpackCursor reads the n parts of a cursor packCursor made; nil when there is no cursor.
func unpackCursor(r *http.Request, n int) ([]string, error) {
	c := r.URL.Query().Get("cursor")
	if c == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil {
		return nil, badCursor()
	}
	parts := strings.SplitN(string(b), "/", n)
	if len(parts) != n {
		return nil, badCursor()
	}
	return parts, nil
}

// cursorInts reads the parts of a packed cursor as whole numbers (the first n of them), the rest
// as they are.
func cursorInts(parts []string, n int) ([]int64, error) {
	out := make([]int64, n)
	for i := range n {
		v, err := strconv.ParseInt(parts[i], 10, 64)
		if err != nil || v < 0 {
			return nil, badCursor()
		}
		out[i] = v
	}
	return out, nil
}

// nextOf is the next of a page of got items asked with limit: a full page may have more after it,
// so it gives the cursor of its last item; a shorter one is the end.
func nextOf(got, limit int, last func() string) string {
	if got < limit || got == 0 {
		return ""
	}
	return last()
}
