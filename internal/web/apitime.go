package web

import (
	"time"

	"github.com/shebao/shebao/internal/period"
)

// timeLayout is the one form of a time in the API: RFC 3339 to the second, in Beijing time with
// its offset ("2026-12-03T09:30:00+08:00"). Every operation writes every time so, whatever the
// database handed back (UTC from PostgreSQL, the local zone from SQLite, nanoseconds or none), so
// that a POST and a GET of one object answer the same string.
const timeLayout = "2006-01-02T15:04:05Z07:00"

// beijing writes an instant as Beijing time with its offset: the hour a person in the region
// reads, and still one unambiguous instant for a program.
func beijing(t time.Time) string { return t.In(period.Shanghai).Format(timeLayout) }

// apiTime is a time field of an API answer, written in timeLayout.
type apiTime time.Time

func (t apiTime) MarshalJSON() ([]byte, error) {
	return []byte(`"` + beijing(time.Time(t)) + `"`), nil
}

// UnmarshalJSON reads a time as MarshalJSON wrote it, for the Go clients of the API's own types.
func (t *apiTime) UnmarshalJSON(b []byte) error {
	var x time.Time
	if err := x.UnmarshalJSON(b); err != nil {
		return err
	}
	*t = apiTime(x)
	return nil
}

// apiTimeOf is the field of an optional time: nil stays nil.
func apiTimeOf(t *time.Time) *apiTime {
	if t == nil {
		return nil
	}
	a := apiTime(*t)
	return &a
}
