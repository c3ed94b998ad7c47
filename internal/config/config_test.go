package config

import (
	"flag"
	"io"
	"strings"
	"testing"
)

// TestPublicURL: the address printed on certificates is a bare http(s) origin; anything else is
// refused naming the flag.
func TestPublicURL(t *testing.T) {
	for in, want := range map[string]string{"": "", "https://shebao.example.gov.cn": "https://shebao.example.gov.cn",
		"https://shebao.example.gov.cn/": "https://shebao.example.gov.cn", "http://127.0.0.1:8080": "http://127.0.0.1:8080"} {
		var c Serve
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		finish := RegisterServe(fs, func(string) string { return "" }, &c)
		if err := fs.Parse([]string{"--public-url", in}); err != nil {
			t.Fatal(err)
		}
		if err := finish(); err != nil || c.PublicURL != want {
			t.Errorf("%q: %q %v; want %q", in, c.PublicURL, err, want)
		}
	}
	for _, bad := range []string{"shebao.example.gov.cn", "ftp://x", "https://x/verify", "https://x?a=1", "https://"} {
		var c Serve
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		finish := RegisterServe(fs, func(string) string { return "" }, &c)
		if err := fs.Parse([]string{"--public-url", bad}); err != nil {
			t.Fatal(err)
		}
		if err := finish(); err == nil || !strings.Contains(err.Error(), "--public-url") {
			t.Errorf("%q accepted: %v", bad, err)
		}
	}
}
