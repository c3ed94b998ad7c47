package cli

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

// TestBenchInquiry runs `shebao bench inquiry` on a small city, its server a child process of the
// test binary: the history loads and passes the ledger check, every inquiry is answered 200, and
// the figures are in the JSON line.
func TestBenchInquiry(t *testing.T) {
	if testing.Short() {
		t.Skip("loads a history and starts a server")
	}
	old := serverCommand
	serverCommand = func(args ...string) (*exec.Cmd, error) { return asCommand(args...), nil }
	defer func() { serverCommand = old }()
	code, out, errOut := run(t, nil, "", "bench", "inquiry", "--persons", "300", "--years", "2", "--clients", "2", "--seconds", "1", "--residents", "5")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	if !strings.Contains(out, "ledger check of the loaded history passed") {
		t.Errorf("no ledger check:\n%s", out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var res map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
		t.Fatalf("last line %q: %v", lines[len(lines)-1], err)
	}
	for _, k := range []string{"p50_ms", "p99_ms", "noop_p99_ms", "rss_mb", "idle_rss_mb", "db_bytes", "inquiries"} {
		if v, ok := res[k].(float64); !ok || v <= 0 {
			t.Errorf("%s = %v", k, res[k])
		}
	}
	if res["bench"] != "inquiry" || res["failed"] != 0.0 || res["refused"] != 0.0 {
		t.Errorf("%v", res)
	}
	kinds, _ := res["kinds"].(map[string]any)
	for _, k := range inquiryKinds {
		if n, _ := kinds[k.name].(map[string]any)["n"].(float64); n == 0 {
			t.Errorf("no %s answered: %v", k.name, kinds)
		}
	}
	t.Log(out)
}

// TestBenchInquiryKeep loads into a --keep directory, then measures on it again without loading
// (the same logins found, not made twice), and refuses a size the directory does not hold.
func TestBenchInquiryKeep(t *testing.T) {
	if testing.Short() {
		t.Skip("loads a history and starts a server")
	}
	old := serverCommand
	serverCommand = func(args ...string) (*exec.Cmd, error) { return asCommand(args...), nil }
	defer func() { serverCommand = old }()
	dir := t.TempDir() + "/kept"
	args := []string{"bench", "inquiry", "--persons", "100", "--years", "1", "--clients", "1", "--seconds", "0.3", "--residents", "3", "--keep", dir}
	if code, out, errOut := run(t, nil, "", args...); code != 0 || !strings.Contains(out, "loaded 100 persons") {
		t.Fatalf("first run: exit %d\n%s\n%s", code, out, errOut)
	}
	code, out, errOut := run(t, nil, "", args...)
	if code != 0 || !strings.Contains(out, "loaded before (--keep)") || !strings.Contains(out, `"kept":true`) {
		t.Fatalf("second run: exit %d\n%s\n%s", code, out, errOut)
	}
	other := append(args[:len(args):len(args)], "--persons", "200")
	if code, _, errOut := run(t, nil, "", other...); code == 0 || !strings.Contains(errOut, "holds 100 persons") {
		t.Fatalf("another size on the kept directory: exit %d %s", code, errOut)
	}
}
