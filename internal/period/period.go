// Package period is the contribution month (YYYYMM) and the business calendar: dates in
// Asia/Shanghai, as SPEC 2 says. Pure: no I/O, no imports of shebao.
package period

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Month is a calendar month written YYYYMM, e.g. 202611. The zero Month means "none" (an open end).
type Month int

// Shanghai is the time zone of business dates; a fixed +08:00 where the system has no zone data
// (China has had no daylight saving since 1991, so the two agree for every date we handle).
var Shanghai = func() *time.Location {
	if l, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		return l
	}
	return time.FixedZone("CST", 8*3600)
}()

// The years a month or date may fall in: wide enough for any insured life, narrow enough that a
// stray "0001" or "9999" is refused as a typing error.
const firstYear, lastYear = 1950, 2199

// ParseMonth reads a month written "YYYYMM" or "YYYY-MM", years 1950–2199, and nothing else: no
// sign, no other separator, no dash in another place ("-202612" and "2026-1-2" are refused, not
// read as 202612).
func ParseMonth(s string) (Month, error) {
	t := strings.TrimSpace(s)
	if len(t) == 7 && t[4] == '-' {
		t = t[:4] + t[5:]
	}
	if len(t) != 6 || strings.Trim(t, "0123456789") != "" {
		return 0, fmt.Errorf("a month is written YYYYMM, like 202611")
	}
	v, _ := strconv.Atoi(t)
	m := Month(v)
	if m.Year() < firstYear || m.Year() > lastYear || m.MonthOfYear() < 1 || m.MonthOfYear() > 12 {
		return 0, fmt.Errorf("%s is not a month between 195001 and 219912", t)
	}
	return m, nil
}

// MonthOf is the business month of an instant.
func MonthOf(t time.Time) Month {
	l := t.In(Shanghai)
	return Month(l.Year()*100 + int(l.Month()))
}

// Year is the calendar year.
func (m Month) Year() int { return int(m) / 100 }

// MonthOfYear is 1–12.
func (m Month) MonthOfYear() int { return int(m) % 100 }

// Add moves n months (negative moves back).
func (m Month) Add(n int) Month {
	i := m.Year()*12 + m.MonthOfYear() - 1 + n
	return Month((i/12)*100 + i%12 + 1)
}

// Since is the number of months from o to m (m − o).
func (m Month) Since(o Month) int {
	return (m.Year()*12 + m.MonthOfYear()) - (o.Year()*12 + o.MonthOfYear())
}

// First is midnight (Shanghai) of the month's first day.
func (m Month) First() time.Time {
	return time.Date(m.Year(), time.Month(m.MonthOfYear()), 1, 0, 0, 0, 0, Shanghai)
}

func (m Month) String() string {
	if m == 0 {
		return ""
	}
	return fmt.Sprintf("%06d", int(m))
}

// Today is the business date of an instant, as midnight UTC of that calendar date, so that dates
// compare and print the same everywhere.
func Today(t time.Time) time.Time {
	l := t.In(Shanghai)
	return time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, time.UTC)
}

// ParseDate reads a calendar date YYYY-MM-DD (or YYYYMMDD), years 1950–2199, as midnight UTC.
func ParseDate(s string) (time.Time, error) {
	t := strings.TrimSpace(s)
	layout := "2006-01-02"
	if len(t) == 8 {
		layout = "20060102"
	}
	d, err := time.Parse(layout, t)
	if err != nil {
		return time.Time{}, fmt.Errorf("a date is written YYYY-MM-DD")
	}
	if d.Year() < firstYear || d.Year() > lastYear {
		return time.Time{}, fmt.Errorf("%s is not a date between 1950-01-01 and 2199-12-31", d.Format("2006-01-02"))
	}
	return d, nil
}
