package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/shebao/shebao/internal/errs"
)

// errorBody is the JSON form of every API error.
type errorBody struct {
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields,omitempty"`
	Rows    []errs.RowProblem `json:"rows,omitempty"`
}

// statusOf is the one mapping from error codes to HTTP statuses.
func statusOf(c errs.Code) int {
	switch c {
	case errs.Invalid:
		return http.StatusUnprocessableEntity
	case errs.BadRequest:
		return http.StatusBadRequest
	case errs.Unauthorized:
		return http.StatusUnauthorized
	case errs.Forbidden:
		return http.StatusForbidden
	case errs.NotFound:
		return http.StatusNotFound
	case errs.BadMethod:
		return http.StatusMethodNotAllowed
	case errs.Conflict:
		return http.StatusConflict
	case errs.TooMany:
		return http.StatusTooManyRequests
	case errs.Unavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// publicError turns any error into what the user may see. Anything that is not an *errs.Error,
// and any Internal one, is logged in full and shown only as "internal error" with the request id.
func (s *Server) publicError(r *http.Request, err error) *errs.Error {
	e, ok := errs.As(err)
	if !ok || e.Code == errs.Internal {
		s.Log.Error("internal error", "request_id", requestID(r.Context()), "route", r.Pattern, "err", err)
		return &errs.Error{Code: errs.Internal, Message: "internal error (request " + requestID(r.Context()) + ")"}
	}
	if e.Code == errs.Unavailable || e.Err != nil {
		s.Log.Warn("request failed", "request_id", requestID(r.Context()), "route", r.Pattern, "code", e.Code, "err", err)
	}
	return e
}

// fail answers an error: JSON under /api/, the error page elsewhere.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	e := s.publicError(r, err)
	status := statusOf(e.Code)
	if e.Code == errs.TooMany {
		w.Header().Set("Retry-After", "60")
	}
	if errors.Is(err, errUploadsBusy) {
		s.uploads.retryAfter(w)
	}
	if isAPI(r) {
		writeJSON(w, status, errorBody{Code: string(e.Code), Message: e.Message, Fields: e.Fields, Rows: e.Rows})
		return
	}
	s.renderError(w, r, status, e)
}

func isAPI(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/api/") }

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Only our own types are marshalled here; failing is a programming error.
		status, b = http.StatusInternalServerError, []byte(`{"code":"internal","message":"internal error"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// maxBody bounds every request body the API reads.
const maxBody = 1 << 20

// decodeJSON reads a JSON object into v, refusing unknown fields, trailing data and large bodies.
// Its errors say what is wrong with the body without echoing it.
func decodeJSON(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return errs.E(errs.BadRequest, "the body must be JSON (Content-Type: application/json)")
	}
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var syn *json.SyntaxError
		var typ *json.UnmarshalTypeError
		var big *http.MaxBytesError
		switch {
		case errors.As(err, &big):
			return errs.E(errs.BadRequest, "the body is larger than %d bytes", maxBody)
		case errors.As(err, &syn):
			return errs.E(errs.BadRequest, "the body is not valid JSON (at byte %d)", syn.Offset)
		case errors.As(err, &typ):
			return &errs.Error{Code: errs.Invalid, Message: "wrong type for " + typ.Field,
				Fields: map[string]string{typ.Field: "must be " + typ.Type.String()}}
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return &errs.Error{Code: errs.Invalid, Message: "unknown field " + name, Fields: map[string]string{name: "unknown field"}}
		case err.Error() == "EOF":
			return errs.E(errs.BadRequest, "the body is empty; a JSON object is expected")
		default:
			return errs.E(errs.BadRequest, "the body is not valid JSON")
		}
	}
	if dec.More() {
		return errs.E(errs.BadRequest, "the body has data after the JSON object")
	}
	return nil
}

// apiNotFound answers every /api/ request that matched no route: 405 when the path exists with
// another method, 404 otherwise.
func (s *Server) apiNotFound(w http.ResponseWriter, r *http.Request) {
	if allow := s.allowedMethods(r); allow != "" {
		w.Header().Set("Allow", allow)
		s.fail(w, r, errs.E(errs.BadMethod, "%s is not allowed here; allowed: %s", r.Method, allow))
		return
	}
	s.fail(w, r, errs.E(errs.NotFound, "no such API endpoint"))
}

func (s *Server) pageNotFound(w http.ResponseWriter, r *http.Request) {
	s.fail(w, r, errs.E(errs.NotFound, "page not found"))
}

// allowedMethods asks the mux which other methods the path answers to.
func (s *Server) allowedMethods(r *http.Request) string {
	var allow []string
	for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE"} {
		if m == r.Method {
			continue
		}
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := s.mux.Handler(probe); pattern != "" && pattern != "/api/" && pattern != "/" {
			allow = append(allow, m)
		}
	}
	return strings.Join(allow, ", ")
}

func parsePositive(s string) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, errs.E(errs.Invalid, "not a positive number")
	}
	return n, nil
}

func itoa(n int) string { return strconv.Itoa(n) }
