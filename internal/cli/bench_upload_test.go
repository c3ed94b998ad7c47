package cli

import (
	"encoding/json"
	"os/exec"
	"strings"
	"testing"
)

// TestBenchUpload runs `shebao bench upload` on small files, its server a child process of the
// test binary: every bomb is refused, every good file accepted, and the figures are in the JSON
// line, the peaks within the bound.
func TestBenchUpload(t *testing.T) {
	if testing.Short() {
		t.Skip("starts seven servers")
	}
	old := serverCommand
	serverCommand = func(args ...string) (*exec.Cmd, error) { return asCommand(args...), nil }
	defer func() { serverCommand = old }()
	code, out, errOut := run(t, nil, "", "bench", "upload", "--rows", "500")
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var res map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
		t.Fatalf("last line %q: %v", lines[len(lines)-1], err)
	}
	for _, k := range []string{"idle_rss_mb", "one_peak_rss_mb", "four_peak_rss_mb", "bound_mb"} {
		if v, ok := res[k].(float64); !ok || v <= 0 {
			t.Errorf("%s = %v", k, res[k])
		}
	}
	if res["bench"] != "upload" || res["bomb_refused"] != true || res["accepted"] != true {
		t.Errorf("%v", res)
	}
	if res["four_peak_rss_mb"].(float64) > res["bound_mb"].(float64) {
		t.Errorf("four at once: %v MB, above the bound of %v MB", res["four_peak_rss_mb"], res["bound_mb"])
	}
	t.Log(out)
}
