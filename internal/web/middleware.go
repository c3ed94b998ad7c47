package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/ident"
)

type ctxKey int

const (
	keyRequestID ctxKey = iota
	keyPrincipal
	keyLogUser // *string: who the access log names, filled in by withPrincipal
)

// withPrincipal puts the authenticated user into the request's context, and their name into the
// access log's line. The log line is written by middleware, which holds the request from before
// authentication, so it reads the name from a slot it put in the context itself.
func withPrincipal(r *http.Request, p *auth.Principal) *http.Request {
	if slot, ok := r.Context().Value(keyLogUser).(*string); ok {
		// A resident's username is their ID number, which no log may hold (SPEC 6.2).
		*slot = ident.MaskIDNumbers(p.Username)
	}
	return r.WithContext(context.WithValue(r.Context(), keyPrincipal, p))
}

func requestID(ctx context.Context) string {
	id, _ := ctx.Value(keyRequestID).(string)
	return id
}

var requestIDRE = regexp.MustCompile(`^[A-Za-z0-9_.-]{8,64}$`)

// statusWriter remembers the status for the access log and metrics.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// middleware wraps the mux: request id, access log and metrics, panic recovery, security headers,
// and protection against cross-origin form posts (the stdlib's Sec-Fetch-Site / Origin check, which
// leaves non-browser API clients with bearer tokens alone).
func (s *Server) middleware(next http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, errs.E(errs.Forbidden, "cross-origin request refused"))
	}))
	protected := cop.Handler(next)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if !requestIDRE.MatchString(id) {
			var b [8]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		var user string
		r = r.WithContext(context.WithValue(context.WithValue(r.Context(), keyRequestID, id), keyLogUser, &user))
		sw := &statusWriter{ResponseWriter: w}
		h := sw.Header()
		h.Set("X-Request-Id", id)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'")
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.Log.Error("panic", "request_id", id, "route", r.Pattern, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
				if sw.status == 0 {
					s.fail(sw, r, fmt.Errorf("panic: %v", p))
				}
			}
			// Log and count by route pattern, never by URL: paths can hold ID numbers.
			route := r.Pattern
			if route == "" {
				route = "unmatched"
			}
			status := sw.status
			if status == 0 {
				status = http.StatusOK
			}
			d := time.Since(start)
			s.metrics.requests.WithLabelValues(r.Method, route, strconv.Itoa(status)).Inc()
			s.metrics.duration.WithLabelValues(route).Observe(d.Seconds())
			attrs := []any{"request_id", id, "method", r.Method, "route", route, "status", status, "duration_ms", float64(d.Microseconds()) / 1000}
			if user != "" {
				attrs = append(attrs, "user", user)
			}
			s.Log.Info("request", attrs...)
		}()
		protected.ServeHTTP(sw, r)
	})
}

// principal returns the authenticated user of the request, or nil.
func principal(r *http.Request) *auth.Principal {
	p, _ := r.Context().Value(keyPrincipal).(*auth.Principal)
	return p
}

const sessionCookie = "shebao_session"

// authenticate finds who is calling: a bearer token (systems) or a session cookie (the portal).
// It returns nil and no error when the request carries neither.
func (s *Server) authenticate(r *http.Request) (*auth.Principal, error) {
	ctx := r.Context()
	if h := r.Header.Get("Authorization"); h != "" {
		token, ok := strings.CutPrefix(h, "Bearer ")
		if !ok {
			return nil, errs.E(errs.Unauthorized, "Authorization must be \"Bearer <token>\"")
		}
		u, err := s.Auth.TokenUser(ctx, strings.TrimSpace(token))
		if err != nil {
			return nil, err
		}
		return &auth.Principal{User: u, Via: "token", RequestID: requestID(ctx)}, nil
	}
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return nil, nil
	}
	u, err := s.Auth.SessionUser(ctx, c.Value)
	if err != nil {
		return nil, err
	}
	return &auth.Principal{User: u, Via: "session", RequestID: requestID(ctx)}, nil
}

// guard authenticates the request and checks the route's action against the permission table.
// It is the one place where a role is checked against a route.
func (s *Server) guard(action auth.Action, r *http.Request) (*http.Request, *auth.Principal, error) {
	p, err := s.authenticate(r)
	if err != nil {
		return r, nil, err
	}
	if p == nil {
		return r, nil, errs.E(errs.Unauthorized, "please log in")
	}
	r = withPrincipal(r, p)
	if !p.Can(action) {
		return r, p, errs.E(errs.Forbidden, "your role may not do this")
	}
	return r, p, nil
}

// apiFunc is an API handler: it returns the status and value to send as JSON, or an error.
type apiFunc func(r *http.Request, p *auth.Principal) (int, any, error)

func (s *Server) api(pattern string, action auth.Action, summary string, h apiFunc) {
	s.apiRoute(pattern, action, summary, h, false)
}

// apiUpload registers an API route whose handler reads an uploaded file: once the caller is
// authenticated and allowed, it runs within an upload slot (uploads.go).
func (s *Server) apiUpload(pattern string, action auth.Action, summary string, h apiFunc) {
	s.apiRoute(pattern, action, summary, h, true)
}

func (s *Server) apiRoute(pattern string, action auth.Action, summary string, h apiFunc, upload bool) {
	s.addRoute(pattern, action, true, summary)
	if keyedRoute(pattern) {
		s.routes[len(s.routes)-1].Keyed = true
		if !ownKeys[pattern] {
			inner, limit := h, int64(maxBody)
			if upload {
				limit = maxUpload
			}
			h = func(r *http.Request, p *auth.Principal) (int, any, error) { return s.keyedUpTo(r, p, inner, limit) }
		}
	}
	created := createdAt[pattern]
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		r, p, err := s.guard(action, r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if upload {
			release, err := s.enterUpload(w, r)
			if err != nil {
				s.fail(w, r, err)
				return
			}
			defer release()
		}
		status, v, err := h(r, p)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if status == http.StatusCreated && created != "" {
			answer := v
			if x, ok := v.(replayed); ok {
				answer = x.answer
			}
			if loc := location(created, r, answer); loc != "" {
				w.Header().Set("Location", loc)
			}
		}
		switch v := v.(type) {
		case *download:
			v.write(w, status)
		case replayed:
			w.Header().Set("Idempotency-Replayed", "true")
			writeJSON(w, status, v.answer)
		default:
			if status == http.StatusNoContent {
				w.WriteHeader(status)
				return
			}
			writeJSON(w, status, v)
		}
	})
}

// replayed is the answer to a retry with the same Idempotency-Key: the first request's answer,
// status and body unchanged, marked only by the Idempotency-Replayed header.
type replayed struct{ answer any }

// download is an API answer that is a file rather than JSON.
type download struct {
	ContentType string
	Name        string
	Data        []byte
}

func (d *download) write(w http.ResponseWriter, status int) {
	w.Header().Set("Content-Type", d.ContentType)
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": d.Name}))
	w.Header().Set("Content-Length", strconv.Itoa(len(d.Data)))
	w.Header().Set("Cache-Control", "private, no-store")
	w.WriteHeader(status)
	_, _ = w.Write(d.Data)
}

// pageFunc is a portal handler: it writes the page or returns an error to show.
type pageFunc func(w http.ResponseWriter, r *http.Request, p *auth.Principal) error

// page registers a portal route. action "" makes it public (p may then be nil, or the logged-in
// user when there is one).
func (s *Server) page(pattern string, action auth.Action, h pageFunc) {
	s.addRoute(pattern, action, false, "")
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		var p *auth.Principal
		var err error
		if action == "" {
			p, _ = s.authenticate(r)
			if p != nil {
				r = withPrincipal(r, p)
			}
		} else if r, p, err = s.guard(action, r); err != nil {
			if errs.CodeOf(err) == errs.Unauthorized && r.Method == http.MethodGet {
				http.Redirect(w, r, "/login?next="+url.QueryEscape(safeNext(r.URL.RequestURI())), http.StatusSeeOther)
				return
			}
			s.fail(w, r, err)
			return
		}
		if err := h(w, r, p); err != nil {
			s.fail(w, r, err)
		}
	})
}

// public registers an unauthenticated, non-API-documented route (operations).
func (s *Server) public(pattern string, h http.HandlerFunc) {
	s.addRoute(pattern, "", strings.Contains(pattern, " /api/"), "")
	s.mux.HandleFunc(pattern, h)
}

// Every API write that creates or moves something takes an Idempotency-Key, scoped to the caller,
// and a retry under it answers exactly the first answer with Idempotency-Replayed: true
// (Server.keyed). That is every POST of the API but the few below, which create or move nothing
// a retry could double: one's own credentials, the key service's custodians' component and its
// seal, the card and QR checks a terminal makes, a comparison of totals, and a token (whose answer
// is a secret that must not be kept to be replayed).
var unkeyed = map[string]bool{
	"POST /api/v1/me/password":                        true,
	"POST /api/v1/me/totp":                            true,
	"POST /api/v1/me/totp/confirm":                    true,
	"POST /api/v1/users/{username}/tokens":            true,
	"POST /api/v1/keys/unseal":                        true,
	"POST /api/v1/keys/seal":                          true,
	"POST /api/v1/cards/auth/challenge":               true,
	"POST /api/v1/cards/auth/verify":                  true,
	"POST /api/v1/ecard/verify":                       true,
	"POST /api/v1/medical-cards/check":                true,
	"POST /api/v1/institutions/{code}/reconciliation": true,
}

// ownKeys are keyed routes whose handlers keep their own answers: payments (the key may also come
// in the body, as the banks' files carry it) and settlements and refunds (the card's cryptogram
// signs the key).
var ownKeys = map[string]bool{
	"POST /api/v1/payments":                true,
	"POST /api/v1/settlements":             true,
	"POST /api/v1/settlements/{id}/refund": true,
}

// maxUpload is the largest body an upload route reads: a staff file at the limits.
const maxUpload = 20 << 20

// keyedRoute says whether an API route takes an Idempotency-Key.
func keyedRoute(pattern string) bool {
	method, _, _ := strings.Cut(pattern, " ")
	return method == http.MethodPost && !unkeyed[pattern]
}

func (s *Server) addRoute(pattern string, action auth.Action, api bool, summary string) {
	method, path, _ := strings.Cut(pattern, " ")
	path = strings.TrimSuffix(path, "{$}")
	s.routes = append(s.routes, Route{Method: method, Path: path, Action: action, API: api, Summary: summary})
}

// clientAddr is the remote address without port, for login rate limiting.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
