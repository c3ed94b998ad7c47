package web

import (
	"compress/gzip"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/shebao/shebao/internal/db/dbtest"
)

// TestStaticCachingGzipFavicon: the layout links the stylesheet with its content hash, which is
// cached for a year; the bare URL revalidates with the ETag (304); text is gzipped for a client
// that asks, never for one that does not, and the favicon is an icon.
func TestStaticCachingGzipFavicon(t *testing.T) {
	e := newTestEnv(t, dbtest.SQLite(t, dbtest.Options{}))
	c := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	get := func(path string, hdr ...string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("GET", e.http.URL+path, nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}

	login := get("/login", "Accept-Encoding", "gzip")
	if login.Header.Get("Content-Encoding") != "gzip" || !strings.Contains(login.Header.Get("Vary"), "Accept-Encoding") {
		t.Fatalf("login page: Content-Encoding %q, Vary %q; want gzip", login.Header.Get("Content-Encoding"), login.Header.Get("Vary"))
	}
	zr, err := gzip.NewReader(login.Body)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(zr)
	css := regexp.MustCompile(`/static/style\.css\?v=[0-9a-f]{12}`).Find(page)
	if css == nil {
		t.Fatalf("the login page links no hashed stylesheet:\n%s", page)
	}
	if plain := get("/login"); plain.Header.Get("Content-Encoding") != "" {
		t.Fatalf("gzip sent to a client that did not ask: %q", plain.Header.Get("Content-Encoding"))
	}

	v := get(string(css), "Accept-Encoding", "gzip")
	if v.StatusCode != 200 || !strings.Contains(v.Header.Get("Cache-Control"), "max-age=31536000") || v.Header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("hashed stylesheet: %d, Cache-Control %q, Content-Encoding %q", v.StatusCode, v.Header.Get("Cache-Control"), v.Header.Get("Content-Encoding"))
	}
	bare := get("/static/style.css")
	etag := bare.Header.Get("ETag")
	if bare.StatusCode != 200 || bare.Header.Get("Cache-Control") != "no-cache" || etag == "" {
		t.Fatalf("bare stylesheet: %d, Cache-Control %q, ETag %q", bare.StatusCode, bare.Header.Get("Cache-Control"), etag)
	}
	if body, _ := io.ReadAll(bare.Body); !strings.Contains(string(body), "font: 1rem") {
		t.Fatal("the stylesheet's body is not the stylesheet")
	}
	if again := get("/static/style.css", "If-None-Match", etag); again.StatusCode != http.StatusNotModified {
		t.Fatalf("revalidation with the ETag: %d; want 304", again.StatusCode)
	}
	// The gzipped answer's weak tag revalidates too.
	if again := get("/static/style.css", "If-None-Match", v.Header.Get("ETag"), "Accept-Encoding", "gzip"); again.StatusCode != http.StatusNotModified {
		t.Fatalf("revalidation with the gzip ETag %q: %d; want 304", v.Header.Get("ETag"), again.StatusCode)
	}
	if missing := get("/static/nothing.css"); missing.StatusCode != http.StatusNotFound {
		t.Fatalf("missing static file: %d", missing.StatusCode)
	}

	ico := get("/favicon.ico", "Accept-Encoding", "gzip")
	body, _ := io.ReadAll(ico.Body)
	if ico.StatusCode != 200 || ico.Header.Get("Content-Type") != "image/x-icon" || ico.Header.Get("Content-Encoding") != "" ||
		!strings.HasPrefix(string(body), "\x00\x00\x01\x00\x01\x00") || !strings.Contains(string(body), "PNG") || ico.Header.Get("Cache-Control") == "" {
		t.Fatalf("favicon: %d %q %q, %d bytes", ico.StatusCode, ico.Header.Get("Content-Type"), ico.Header.Get("Cache-Control"), len(body))
	}
}

func TestAcceptsGzip(t *testing.T) {
	for h, want := range map[string]bool{"": false, "gzip": true, "br, gzip": true, "gzip;q=0": false, "deflate": false, "GZIP ; q=0.5": true, "gzip; q=0": false} {
		r, _ := http.NewRequest("GET", "/", nil)
		r.Header.Set("Accept-Encoding", h)
		if got := acceptsGzip(r); got != want {
			t.Errorf("Accept-Encoding %q: %v; want %v", h, got, want)
		}
	}
	for ct, want := range map[string]bool{"text/html; charset=utf-8": true, "application/json": true, "application/pdf": false, "image/png": false,
		"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": false, "image/svg+xml": true} {
		if got := compressible(ct); got != want {
			t.Errorf("compressible(%q) = %v; want %v", ct, got, want)
		}
	}
}
