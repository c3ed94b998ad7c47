package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/contrib"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/ledger"
	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/policy"
)

// benchContributions measures the monthly run: N insured persons across employers of 50 are
// assessed, billed and booked. The reference is a raw insert, in the same database, of the same
// rows: the lines the run wrote, read back (not timed) and inserted in the order the run wrote them
// into a table of the same shape — the floor of writing a month's lines at all (SPEC 5).
func benchContributions(ctx context.Context, io IO, args []string) error {
	fs := newFlags("bench contributions", io)
	persons := fs.Int("persons", 1_000_000, "insured persons")
	url := fs.String("db", "", "run on a new schema of this PostgreSQL server instead of a temporary SQLite file")
	if err := parse(fs, args); err != nil {
		return err
	}
	d, where, cleanup, err := benchDB(ctx, *url)
	if err != nil {
		return err
	}
	defer cleanup()
	const region = "330100"
	month := period.MonthOf(time.Now())
	fmt.Fprintf(io.Out, "bench contributions: %d persons on %s\n", *persons, where)
	pol := policy.NewStore(d)
	p, _, err := policy.Default(region, month.Add(-1))
	if err != nil {
		return err
	}
	if _, err := pol.Install(ctx, audit.System, p); err != nil {
		return err
	}
	t0 := time.Now()
	if err := benchCity(ctx, d, region, month, *persons); err != nil {
		return fmt.Errorf("building the city: %w", err)
	}
	fmt.Fprintf(io.Out, "  built %d persons in %d employers in %v (not counted)\n", *persons, (*persons+49)/50, time.Since(t0).Round(time.Millisecond))

	svc := contrib.New(d, pol)
	last := time.Now()
	res, err := svc.Run(ctx, audit.System, region, month, func(p contrib.Progress) {
		if time.Since(last) > 2*time.Second {
			last = time.Now()
			fmt.Fprintf(io.Err, "  %d/%d payers\n", p.Done, p.Payers)
		}
	})
	if err != nil {
		return err
	}
	if res.Persons != *persons {
		return fmt.Errorf("the run assessed %d persons; want %d", res.Persons, *persons)
	}
	fmt.Fprintf(io.Out, "  monthly run: %v (%.0f persons/s)\n", res.Elapsed.Round(time.Millisecond), float64(*persons)/res.Elapsed.Seconds())
	// What `shebao ledger check` does after the run, timed apart (not counted in the run).
	t1 := time.Now()
	if _, err := ledger.Check(ctx, d); err != nil {
		return err
	}
	t2 := time.Now()
	if _, err := contrib.Check(ctx, d); err != nil {
		return err
	}
	ledgerCheck, contribCheck := t2.Sub(t1), time.Since(t2)
	fmt.Fprintf(io.Out, "  ledger check: %v for the ledger, %v comparing bills and lines with it (not counted)\n",
		ledgerCheck.Round(time.Millisecond), contribCheck.Round(time.Millisecond))

	ref, err := rawLines(ctx, d, month)
	if err != nil {
		return fmt.Errorf("reference: %w", err)
	}
	ratio := res.Elapsed.Seconds() / ref.Seconds()
	fmt.Fprintf(io.Out, "  reference (raw insert of the same %d rows): %v; run/reference = %.2f\n", *persons, ref.Round(time.Millisecond), ratio)
	jsonLine(io.Out, map[string]any{"bench": "contributions", "database": string(d.Dialect()), "persons": *persons,
		"seconds": round3(res.Elapsed.Seconds()), "reference_seconds": round3(ref.Seconds()), "ratio": round3(ratio),
		"check_seconds": round3((ledgerCheck + contribCheck).Seconds())})
	return nil
}

// benchCity inserts employers, persons and their employment directly: the benchmark measures the
// run, not the registry (bench import measures that).
func benchCity(ctx context.Context, d *db.DB, region string, month period.Month, n int) error {
	return d.Write(ctx, func(tx *db.Tx) error {
		now := db.FormatTime(tx.Now)
		emps := tx.Inserter("employers", "id", "region", "uscc", "name", "legal_rep", "risk_class", "created_at", "created_by")
		for e := 1; e <= (n+49)/50; e++ {
			if err := emps.Add(ctx, e, region, fmt.Sprintf("BENCH%013d", e), "单位", "x", 1+e%8, now, "bench"); err != nil {
				return err
			}
		}
		if err := emps.Close(ctx); err != nil {
			return err
		}
		ps := tx.Inserter("persons", "id", "region", "id_number", "id_kind", "name", "gender", "birth_date", "hukou_type", "created_at", "created_by", "updated_at")
		st := tx.Inserter("staff", "region", "employer_id", "person_id", "start_month", "base", "created_at")
		for i := 1; i <= n; i++ {
			if err := ps.Add(ctx, i, region, fmt.Sprintf("B%017d", i), "resident", "职工", "male", "1980-01-01", "local", now, "bench", now); err != nil {
				return err
			}
			if err := st.Add(ctx, region, (i-1)/50+1, i, int(month.Add(-1)), int64(300000+(i*7919)%3000000), now); err != nil {
				return err
			}
		}
		if err := ps.Close(ctx); err != nil {
			return err
		}
		return st.Close(ctx)
	})
}

// rawLines reads the month's lines back and inserts them again, timed, into a table of the same
// shape and keys, the way the run does (multi-row inserts in one transaction).
func rawLines(ctx context.Context, d *db.DB, month period.Month) (time.Duration, error) {
	const cols = 13
	var lines [][cols]int64
	if err := db.EachRow(ctx, d.R(), func(scan func(...any) error) error {
		var l [cols]int64
		ptrs := make([]any, cols)
		for i := range l {
			ptrs[i] = &l[i]
		}
		if err := scan(ptrs...); err != nil {
			return err
		}
		lines = append(lines, l)
		return nil
	}, `SELECT bill_id, person_id, month, base, pension_employer, pension_employee, medical_employer, medical_employee, unemployment_employer,
		unemployment_employee, work_injury_employer, to_pension_account, to_medical_account FROM contribution_lines WHERE month = $1
		ORDER BY bill_id, person_id`, int(month)); err != nil {
		return 0, err
	}
	if err := d.Write(ctx, func(tx *db.Tx) error {
		// The same shape as contribution_lines: the same keys, so the same B-tree work.
		suffix := ""
		if d.Dialect() == db.SQLite {
			suffix = " WITHOUT ROWID"
		}
		_, err := tx.ExecContext(ctx, `CREATE TABLE bench_lines (bill_id BIGINT NOT NULL, person_id BIGINT NOT NULL, month INTEGER NOT NULL,
			base BIGINT NOT NULL, a BIGINT NOT NULL, b BIGINT NOT NULL, c BIGINT NOT NULL, d BIGINT NOT NULL, e BIGINT NOT NULL, f BIGINT NOT NULL,
			g BIGINT NOT NULL, h BIGINT NOT NULL, i BIGINT NOT NULL, PRIMARY KEY (person_id, month, bill_id))`+suffix)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, "CREATE INDEX bench_lines_bill ON bench_lines(bill_id)")
		return err
	}); err != nil {
		return 0, err
	}
	start := time.Now()
	err := d.Write(ctx, func(tx *db.Tx) error {
		in := tx.Inserter("bench_lines", "bill_id", "person_id", "month", "base", "a", "b", "c", "d", "e", "f", "g", "h", "i")
		for _, l := range lines {
			if err := in.Add(ctx, l[0], l[1], l[2], l[3], l[4], l[5], l[6], l[7], l[8], l[9], l[10], l[11], l[12]); err != nil {
				return err
			}
		}
		return in.Close(ctx)
	})
	return time.Since(start), err
}
