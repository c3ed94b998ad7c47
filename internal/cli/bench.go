package cli

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strings"

	"github.com/shebao/shebao/internal/db"
)

// runBench dispatches the benchmarks. Each builds its own data in a database of its own (a new
// SQLite file in a temporary directory, or a new schema on the PostgreSQL server given with --db,
// dropped afterwards), prints a human summary, measures the reference that bounds it in the same
// run, and ends with one JSON line.
func runBench(ctx context.Context, io IO, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: shebao bench import --rows N [--db postgres://…]", errUsage)
	}
	// --cpuprofile FILE, anywhere after the benchmark's name, writes a CPU profile of the run.
	rest := args[1:]
	for i := 0; i < len(rest); i++ {
		if v, ok := strings.CutPrefix(rest[i], "--cpuprofile="); ok || rest[i] == "--cpuprofile" {
			if !ok && i+1 < len(rest) {
				v = rest[i+1]
				rest = append(rest[:i:i], rest[i+2:]...)
			} else {
				rest = append(rest[:i:i], rest[i+1:]...)
			}
			f, err := os.Create(v)
			if err != nil {
				return err
			}
			defer f.Close()
			if err := pprof.StartCPUProfile(f); err != nil {
				return err
			}
			defer pprof.StopCPUProfile()
			break
		}
	}
	switch args[0] {
	case "import":
		return benchImport(ctx, io, rest)
	case "keys":
		return benchKeys(ctx, io, rest)
	case "contributions":
		return benchContributions(ctx, io, rest)
	case "upload":
		return benchUpload(ctx, io, rest)
	case "settle":
		return benchSettle(ctx, io, rest)
	case "inquiry":
		return benchInquiry(ctx, io, rest)
	}
	return fmt.Errorf("%w: unknown benchmark %q (have: import, keys, contributions, upload, settle, inquiry)", errUsage, args[0])
}

// benchDB opens a fresh database for a benchmark: SQLite in a temporary directory, or a new
// schema on the PostgreSQL server of url. cleanup removes it.
func benchDB(ctx context.Context, url string) (d *db.DB, where string, cleanup func(), err error) {
	d, where, _, cleanup, err = openBench(ctx, url)
	return d, where, cleanup, err
}

// openBench is benchDB, and also gives the flags with which `shebao serve` opens the same
// database.
func openBench(ctx context.Context, url string) (d *db.DB, where string, serveArgs []string, cleanup func(), err error) {
	if url == "" {
		dir, err := os.MkdirTemp("", "shebao-bench-")
		if err != nil {
			return nil, "", nil, nil, err
		}
		d, err := db.Open(ctx, db.Options{Dir: dir})
		if err != nil {
			os.RemoveAll(dir)
			return nil, "", nil, nil, err
		}
		if _, err := d.Migrate(ctx); err != nil {
			d.Close()
			os.RemoveAll(dir)
			return nil, "", nil, nil, err
		}
		return d, "sqlite " + dir, []string{"--data", dir}, func() { d.Close(); os.RemoveAll(dir) }, nil
	}
	if !strings.HasPrefix(url, "postgres") {
		return nil, "", nil, nil, fmt.Errorf("%w: --db must be a postgres:// URL", errUsage)
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	schema := "bench_" + hex.EncodeToString(b[:])
	admin, err := sql.Open("pgx", url)
	if err != nil {
		return nil, "", nil, nil, err
	}
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		admin.Close()
		return nil, "", nil, nil, fmt.Errorf("create benchmark schema: %w", err)
	}
	drop := func() { _, _ = admin.Exec("DROP SCHEMA " + schema + " CASCADE"); admin.Close() }
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	url += sep + "search_path=" + schema
	d, err = db.Open(ctx, db.Options{URL: url})
	if err != nil {
		drop()
		return nil, "", nil, nil, err
	}
	if _, err := d.Migrate(ctx); err != nil {
		d.Close()
		drop()
		return nil, "", nil, nil, err
	}
	return d, "postgres schema " + schema, []string{"--db", url}, func() { d.Close(); drop() }, nil
}

// jsonLine prints the final machine-readable line.
func jsonLine(w io.Writer, v map[string]any) {
	b, _ := json.Marshal(v)
	fmt.Fprintln(w, string(b))
}
