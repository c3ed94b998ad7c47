// Package cli is the shebao command line: one file per subcommand, each with its own flag set and
// a run(ctx, args) error. It wires configuration, the database and the capabilities together for
// the commands, as web does for HTTP. It never holds business rules.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"runtime/debug"
	"sort"
	"strings"

	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/config"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/ident"
)

// IO is the outside world of a command: its streams and its environment.
type IO struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
	Env config.Env
}

type command struct {
	summary string
	run     func(ctx context.Context, io IO, args []string) error
}

var commands map[string]command

func init() {
	commands = map[string]command{
		"serve":         {"run the portal and API", runServe},
		"migrate":       {"apply database migrations", runMigrate},
		"user":          {"manage users: user add --username U --role R --region CODE", runUser},
		"token":         {"issue API tokens: token add --username U", runToken},
		"audit":         {"audit log: audit verify", runAudit},
		"policy":        {"policy versions: policy import FILE", runPolicy},
		"ledger":        {"the ledger: ledger check", runLedger},
		"contributions": {"the monthly run: contributions run --month YYYYMM", runContributions},
		"benefits":      {"the monthly benefit run: benefits run --month YYYYMM [--region CODE]", runBenefits},
		"transfers":     {"transfers between regions: transfers deliver (serve does it by itself)", runTransfers},
		"certificate":   {"check a certificate PDF offline: certificate verify --public-key FILE.pem FILE.pdf", runCertificate},
		"bench":         {"benchmarks: bench import --rows N | contributions | keys | upload | settle", runBench},
		"keys":          {"key service: keys component | init | status | unseal | request | approve | list", runKeys},
		"card":          {"software cards: card sim personalise | inspect | verify-pin | change-pin | apdu", runCard},
		"backup":        {"backup FILE: a consistent copy of the live SQLite database", runBackup},
		"terminal":      {"a hospital's settlement terminal: terminal settle --card FILE --items FILE | --refund ID", runTerminal},
		"version":       {"print the version", runVersion},
	}
}

// errUsage marks an error in the command's words; it exits 2 instead of 1.
var errUsage = errors.New("usage")

// Run runs the command named by args[0] and returns the process exit code.
func Run(ctx context.Context, args []string, io IO) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(io.Out)
		return 0
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(io.Err, "shebao: unknown command %q\n\n", args[0])
		usage(io.Err)
		return 2
	}
	if err := c.run(ctx, io, args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintf(io.Err, "shebao %s: %v\n", args[0], err)
		if errors.Is(err, errUsage) {
			return 2
		}
		return 1
	}
	return 0
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "shebao — social insurance and social security card system")
	fmt.Fprintln(w, "\nUsage: shebao COMMAND [flags]\n\nCommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-13s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nEvery command that opens the database takes --data DIR (SQLite, default shebao-data)")
	fmt.Fprintln(w, "or --db postgres://… (or SHEBAO_DATA / SHEBAO_DB / SHEBAO_DB_FILE). Run 'shebao COMMAND -h' for flags.")
}

// newFlags makes a flag set that reports errors instead of exiting.
func newFlags(name string, io IO) *flag.FlagSet {
	fs := flag.NewFlagSet("shebao "+name, flag.ContinueOnError)
	fs.SetOutput(io.Err)
	return fs
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, fs.Arg(0))
	}
	return nil
}

// openDB resolves the database flags (reading --db-file) and opens and migrates the database.
func openDB(ctx context.Context, c config.DB) (*db.DB, error) {
	if err := c.Resolve(); err != nil {
		return nil, err
	}
	d, err := db.Open(ctx, db.Options{URL: c.URL, Dir: c.DataDir})
	if err != nil {
		return nil, err
	}
	if _, err := d.Migrate(ctx); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// operator is the audit actor for changes made from the command line: the operating-system user,
// who is trusted like anyone with access to the database.
func operator() audit.Actor {
	name := "cli"
	if u, err := user.Current(); err == nil && u.Username != "" {
		name = "cli:" + u.Username
	}
	return audit.Actor{Name: name, Role: "operator"}
}

// newLogger makes the one logger. Every value it writes passes through maskIDNumbers, so no full
// ID number reaches a log (SPEC 6.2) whatever a caller hands it: a resident's username, an error
// quoting a row, a panic's message.
func newLogger(w io.Writer, level slog.Level, format string) *slog.Logger {
	o := &slog.HandlerOptions{Level: level, ReplaceAttr: maskIDNumbers}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, o))
	}
	return slog.New(slog.NewTextHandler(w, o))
}

// maskIDNumbers is the loggers' ReplaceAttr: it masks the ID numbers in a string, an error or a
// Stringer, and in any other value whose printed form holds one (which is then written as that
// masked text).
func maskIDNumbers(_ []string, a slog.Attr) slog.Attr {
	switch a.Value.Kind() {
	case slog.KindString:
		a.Value = slog.StringValue(ident.MaskIDNumbers(a.Value.String()))
	case slog.KindAny:
		var s string
		switch v := a.Value.Any().(type) {
		case error:
			s = v.Error()
		case fmt.Stringer:
			s = v.String()
		default:
			s = fmt.Sprintf("%+v", v)
		}
		if m := ident.MaskIDNumbers(s); m != s {
			a.Value = slog.StringValue(m)
		}
	}
	return a
}

// Version is the module version the binary was built from, or "devel".
func Version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "devel"
}

func runVersion(ctx context.Context, io IO, args []string) error {
	fs := newFlags("version", io)
	if err := parse(fs, args); err != nil {
		return err
	}
	fmt.Fprintln(io.Out, "shebao", Version())
	return nil
}

func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' })
}

func readFile(path string) ([]byte, error) { return os.ReadFile(path) }
