package web

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/card"
	"github.com/shebao/shebao/internal/policy"
)

// TestEveryKeyTranslated finds every message key the templates and handlers use and checks that it
// has a Chinese and an English text; keys built at run time are checked by family.
func TestEveryKeyTranslated(t *testing.T) {
	used := map[string]bool{}
	tmplKey := regexp.MustCompile(`\.T "([a-z0-9_.]+)"`)
	goKey := regexp.MustCompile(`\.T\("([a-z0-9_.]+)"\)|"((?:menu|sec|window|staff|enrol|account|users|audit|login|error|guide|policy|policies)\.[a-z0-9_.]+)"`)
	err := fs.WalkDir(assets, "templates", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(assets, path)
		for _, m := range tmplKey.FindAllStringSubmatch(string(b), -1) {
			used[m[1]] = true
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("*.go")
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") || f == "i18n.go" {
			continue
		}
		b, _ := os.ReadFile(f)
		for _, m := range goKey.FindAllStringSubmatch(string(b), -1) {
			used[m[1]+m[2]] = true
		}
	}
	for _, r := range auth.Roles {
		used["role."+string(r)] = true
	}
	for _, i := range policy.Insurances {
		used["ins."+string(i)] = true
	}
	for _, k := range policy.SettlementKinds {
		used["kind."+k] = true
	}
	for _, st := range card.States {
		used["cstate."+string(st)] = true
	}
	for _, a := range card.Actions() {
		used["caction."+string(a)] = true
	}
	for _, k := range []string{"status.draft", "status.submitted", "status.approved", "status.rejected", "check.pending", "check.accepted",
		"check.rejected", "check.missing", "pstatus.pending", "pstatus.approved", "pstatus.rejected", "when.local_hukou", "when.non_local_hukou",
		"mstate.issued", "mstate.active", "mstate.lost", "mstate.cancelled", "bank.activate", "bank.lose", "bank.cancel",
		"keys.kind.generate", "keys.kind.rotate", "keys.purpose.kek", "keys.purpose.card_master", "keys.purpose.internal_auth",
		"keys.purpose.external_auth", "keys.purpose.pin", "keys.purpose.transaction_mac", "keys.purpose.signing", "keys.kstatus.active", "keys.kstatus.retired",
		"keys.kstatus.destroyed", "bstate.sent", "bstate.produced", "bstate.distributed", "keys.status.pending", "keys.status.done", "keys.status.failed", "keys.status.withdrawn", "keys.kind.export", "keys.kind.destroy", "keys.mode.production", "keys.mode.development",
		"cat.A", "cat.B", "cat.C", "means.social_security_card", "means.ecard", "means.medical_card", "item.code", "item.name", "item.category",
		"item.amount", "cause.settlement", "cause.reversal", "cause.other", "ikind.hospital", "ikind.pharmacy", "level.0", "level.1", "level.2",
		"level.3", "istatus.pending", "istatus.approved", "clstatus.prepared", "clstatus.posted"} {
		used[k] = true
	}
	for k := range messages {
		if strings.HasPrefix(k, "act.") {
			used[k] = true
		}
	}
	if len(used) < 50 {
		t.Fatalf("found only %d keys; the scan is broken", len(used))
	}
	for k := range used {
		m, ok := messages[k]
		if !ok || m[0] == "" || m[1] == "" {
			t.Errorf("message %q has no Chinese or English text", k)
		}
	}
}
