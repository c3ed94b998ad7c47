package cli

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/ident"
	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/policy"
	"github.com/shebao/shebao/internal/registry"
	"github.com/shebao/shebao/internal/sheet"
)

// benchImport measures the bulk staff import: an N-row XLSX file of new staff is read, validated
// whole and applied, as an employer's upload is. The reference is a raw insert of the same rows
// (the persons, the employment rows and five participation rows per person) into the same tables
// of a second fresh database, with prepared statements in one transaction: the floor any import
// of this data must stand on.
func benchImport(ctx context.Context, io IO, args []string) error {
	fs := newFlags("bench import", io)
	rows := fs.Int("rows", 100_000, "rows in the staff file")
	url := fs.String("db", "", "run on new schemas of this PostgreSQL server instead of temporary SQLite files")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *rows < 1 || *rows > registry.MaxBulkRows {
		return fmt.Errorf("%w: --rows must be from 1 to %d", errUsage, registry.MaxBulkRows)
	}
	d, where, cleanup, err := benchDB(ctx, *url)
	if err != nil {
		return err
	}
	defer cleanup()
	fmt.Fprintf(io.Out, "bench import: %d rows on %s\n", *rows, where)

	a := auth.New(d, auth.Options{})
	pol := policy.NewStore(d)
	reg := registry.New(d, a, pol)
	const region = "330100"
	now := d.Now()
	p, _, err := policy.Default(region, period.MonthOf(now).Add(-12))
	if err != nil {
		return err
	}
	if _, err := pol.Install(ctx, audit.System, p); err != nil {
		return err
	}
	clerk := &auth.Principal{User: auth.User{Username: "bench-clerk", Role: auth.Clerk, Regions: []string{region}}}
	uscc, _ := ident.MakeUSCC("91330100BENCH0001")
	e, err := reg.RegisterEmployer(ctx, clerk, registry.NewEmployer{USCC: string(uscc), Name: "基准测试有限公司", LegalRep: "基准", RiskClass: 3})
	if err != nil {
		return err
	}
	hr := &auth.Principal{User: auth.User{Username: "bench-hr", Role: auth.Employer, Regions: []string{region}, EmployerID: e.ID}}

	t0 := time.Now()
	ids := benchIDs(*rows)
	month := period.MonthOf(now).String()
	table := make([][]string, *rows)
	for i, id := range ids {
		table[i] = []string{"增员", id, fmt.Sprintf("职工%06d", i), fmt.Sprintf("%d.00", 4000+i%20000), month, "", "", "本地", "汉族", "", ""}
	}
	var file bytes.Buffer
	if err := sheet.WriteXLSX(&file, "staff", registry.StaffHeader(), table); err != nil {
		return err
	}
	gen := time.Since(t0)
	fmt.Fprintf(io.Out, "  generated a %.1f MiB XLSX in %v (not counted)\n", float64(file.Len())/(1<<20), gen.Round(time.Millisecond))

	t1 := time.Now()
	tab, err := sheet.Read(bytes.NewReader(file.Bytes()), sheet.Limits{MaxRows: registry.MaxBulkRows, MaxCols: 32})
	if err != nil {
		return err
	}
	readOnly := time.Since(t1)
	_ = tab
	t2 := time.Now()
	res, err := reg.ImportStaff(ctx, hr, string(e.USCC), "bench.xlsx", file.Bytes())
	if err != nil {
		return err
	}
	took := time.Since(t2)
	if res.Applied != *rows {
		return fmt.Errorf("applied %d of %d rows", res.Applied, *rows)
	}
	var parts int
	if err := d.R().QueryRowContext(ctx, "SELECT COUNT(*) FROM participations").Scan(&parts); err != nil {
		return err
	}
	if parts != 5**rows {
		return fmt.Errorf("%d participations; want %d", parts, 5**rows)
	}
	fmt.Fprintf(io.Out, "  import (read + validate + apply): %v, %.0f rows/s (of which reading the XLSX alone: %v)\n",
		took.Round(time.Millisecond), float64(*rows)/took.Seconds(), readOnly.Round(time.Millisecond))

	// Reference: the same rows, raw, into a second fresh database.
	d2, _, cleanup2, err := benchDB(ctx, *url)
	if err != nil {
		return err
	}
	defer cleanup2()
	ref, err := rawInsert(ctx, d2, ids, month)
	if err != nil {
		return fmt.Errorf("reference: %w", err)
	}
	ratio := took.Seconds() / ref.Seconds()
	fmt.Fprintf(io.Out, "  reference (raw insert of the same %d rows): %v; import/reference = %.2f\n", *rows*7, ref.Round(time.Millisecond), ratio)
	jsonLine(io.Out, map[string]any{"bench": "import", "database": string(d.Dialect()), "rows": *rows, "seconds": round3(took.Seconds()),
		"rows_per_s": int(float64(*rows) / took.Seconds()), "read_seconds": round3(readOnly.Seconds()),
		"reference_seconds": round3(ref.Seconds()), "ratio": round3(ratio)})
	return nil
}

func round3(f float64) float64 { return float64(int64(f*1000+0.5)) / 1000 }

// benchIDs makes n distinct valid ID numbers.
func benchIDs(n int) []string {
	out := make([]string, 0, n)
	birth := time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; len(out) < n; i++ {
		out = append(out, benchIDAt(birth, i))
	}
	return out
}

// benchIDAt is the i-th of the ID numbers benchIDs makes: a thousand a day from birth, the check
// character computed.
func benchIDAt(birth time.Time, i int) string {
	day := birth.AddDate(0, 0, i/1000)
	id, err := ident.MakeIDNumber(fmt.Sprintf("330106%s%03d", day.Format("20060102"), i%1000))
	if err != nil {
		panic(err) // a valid date and sequence always make a number
	}
	return string(id)
}

// rawInsert writes what an import of ids writes — a person, an employment and five participations
// each — with no validation, in one transaction, by the fastest plain means shebao has: multi-row
// inserts returning the new persons' ids.
func rawInsert(ctx context.Context, d *db.DB, ids []string, month string) (time.Duration, error) {
	var empID int64
	if err := d.Write(ctx, func(tx *db.Tx) error {
		return tx.QueryRowContext(ctx, `INSERT INTO employers(region, uscc, name, legal_rep, risk_class, created_at, created_by)
			VALUES('330100', 'REF', 'ref', 'ref', 1, 'now', 'ref') RETURNING id`).Scan(&empID)
	}); err != nil {
		return 0, err
	}
	m, _ := period.ParseMonth(month)
	start := time.Now()
	err := d.Write(ctx, func(tx *db.Tx) error {
		now := db.FormatTime(tx.Now)
		pid := make(map[string]int64, len(ids))
		persons := tx.Inserter("persons", "region", "id_number", "id_kind", "name", "gender", "birth_date", "ethnicity", "hukou_type",
			"hukou_place", "residence_permit", "phone", "address", "created_at", "created_by", "updated_at").
			Returning("id, id_number", func(rows *sql.Rows) error {
				var id int64
				var n string
				err := rows.Scan(&id, &n)
				pid[n] = id
				return err
			})
		for i, id := range ids {
			if err := persons.Add(ctx, "330100", id, "resident", fmt.Sprintf("职工%06d", i), "male", "1970-01-01", "汉族", "local", "", "", "", "", now, "ref", now); err != nil {
				return err
			}
		}
		if err := persons.Close(ctx); err != nil {
			return err
		}
		staff := tx.Inserter("staff", "region", "employer_id", "person_id", "start_month", "base", "created_at")
		parts := tx.Inserter("participations", "region", "person_id", "employer_id", "insurance", "start_month", "source", "created_at")
		for _, id := range ids {
			if err := staff.Add(ctx, "330100", empID, pid[id], int(m), 400000, now); err != nil {
				return err
			}
			for _, ins := range policy.Insurances {
				if err := parts.Add(ctx, "330100", pid[id], empID, string(ins), int(m), "ref", now); err != nil {
					return err
				}
			}
		}
		if err := staff.Close(ctx); err != nil {
			return err
		}
		return parts.Close(ctx)
	})
	return time.Since(start), err
}
