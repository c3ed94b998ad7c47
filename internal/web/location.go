package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// createdAt gives, for each operation that creates an object with an address of its own, the
// template of that address: the 201 answer's Location. "{field}" is a field of the answer
// ("{user.username}" one of an object in it), "{path:name}" the request's path value. An operation whose object has no GET of its own (a
// payment, a token, a login) answers without one.
var createdAt = map[string]string{
	"POST /api/v1/users":                            "/api/v1/users/{user.username}",
	"POST /api/v1/policies":                         "/api/v1/policies/{id}",
	"POST /api/v1/persons":                          "/api/v1/persons/{id_number}",
	"POST /api/v1/employers":                        "/api/v1/employers/{uscc}",
	"POST /api/v1/enrolments":                       "/api/v1/enrolments/{id}",
	"POST /api/v1/enrolments/{id}/materials":        "/api/v1/enrolments/{path:id}/materials/{id}",
	"POST /api/v1/keys/requests":                    "/api/v1/keys/requests/{id}",
	"POST /api/v1/cards":                            "/api/v1/cards/{id}",
	"POST /api/v1/cards/temporary":                  "/api/v1/cards/{id}",
	"POST /api/v1/cards/{id}/replace":               "/api/v1/cards/{id}",
	"POST /api/v1/institutions":                     "/api/v1/institutions/{code}",
	"POST /api/v1/settlements":                      "/api/v1/settlements/{id}",
	"POST /api/v1/unemployment/claims":              "/api/v1/unemployment/claims/{id}",
	"POST /api/v1/transfers":                        "/api/v1/transfers/{no}",
	"POST /api/v1/me/certificates":                  "/api/v1/certificates/{serial}/pdf",
	"POST /api/v1/persons/{id_number}/certificates": "/api/v1/certificates/{serial}/pdf",
	"POST /api/v1/employers/{uscc}/certificates":    "/api/v1/certificates/{serial}/pdf",
}

// location fills an address template from the request and the answer; "" when a field is absent,
// so that a wrong template shows as a missing header in the contract test, not a wrong address.
func location(template string, r *http.Request, answer any) string {
	b, err := json.Marshal(answer)
	if err != nil {
		return ""
	}
	var fields map[string]any
	if json.Unmarshal(b, &fields) != nil {
		return ""
	}
	var out strings.Builder
	for rest := template; rest != ""; {
		open := strings.IndexByte(rest, '{')
		if open < 0 {
			out.WriteString(rest)
			break
		}
		end := strings.IndexByte(rest, '}')
		out.WriteString(rest[:open])
		name := rest[open+1 : end]
		rest = rest[end+1:]
		var v string
		if p, ok := strings.CutPrefix(name, "path:"); ok {
			v = r.PathValue(p)
		} else if x := field(fields, name); x != nil {
			v = fmt.Sprint(x)
			if f, ok := x.(float64); ok {
				v = fmt.Sprintf("%.0f", f)
			}
		}
		if v == "" {
			return ""
		}
		out.WriteString(url.PathEscape(v))
	}
	return out.String()
}

// field is the value at a dotted name in a decoded JSON object, nil when there is none.
func field(fields map[string]any, name string) any {
	first, rest, nested := strings.Cut(name, ".")
	x := fields[first]
	if !nested {
		return x
	}
	inner, _ := x.(map[string]any)
	return field(inner, rest)
}
