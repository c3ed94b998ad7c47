package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"image"
	"image/color"
	"image/png"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"
)

// Static files and the favicon are cached by content: the layout links each file as
// /static/NAME?v=HASH (the first 12 hex digits of its SHA-256), and a request carrying the
// current hash is answered with a year's max-age and "immutable", since a changed file gets a new
// URL. A request without the hash (or with an old one) gets the file with "no-cache" and a strong
// ETag, so a browser revalidates and is answered 304 Not Modified while the file is unchanged.
// The files are embedded in the binary, so their hashes are computed once, at start.

type staticFile struct {
	body []byte
	hash string // 12 hex digits
	etag string
	ct   string
}

var (
	staticOnce  sync.Once
	staticFiles map[string]*staticFile // by name under static/
	favicon     *staticFile
)

func loadStatic() {
	staticOnce.Do(func() {
		staticFiles = map[string]*staticFile{}
		entries, _ := fs.ReadDir(assets, "static")
		for _, e := range entries {
			if e.IsDir() {
				continue
			}
			b, err := fs.ReadFile(assets, "static/"+e.Name())
			if err != nil {
				continue
			}
			staticFiles[e.Name()] = newStaticFile(b, mime.TypeByExtension(path.Ext(e.Name())))
		}
		favicon = newStaticFile(faviconICO(), "image/x-icon")
	})
}

func newStaticFile(b []byte, ct string) *staticFile {
	sum := sha256.Sum256(b)
	h := hex.EncodeToString(sum[:])[:12]
	if ct == "" {
		ct = "application/octet-stream"
	}
	return &staticFile{body: b, hash: h, etag: `"` + h + `"`, ct: ct}
}

// assetURL is the URL of a static file with its content hash, for templates: {{asset "style.css"}}.
func assetURL(name string) string {
	loadStatic()
	if f, ok := staticFiles[name]; ok {
		return "/static/" + name + "?v=" + f.hash
	}
	return "/static/" + name
}

func (s *Server) serveStatic(w http.ResponseWriter, r *http.Request) {
	loadStatic()
	name := strings.TrimPrefix(r.URL.Path, "/static/")
	f, ok := staticFiles[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	serveCached(w, r, f, r.URL.Query().Get("v") == f.hash)
}

func (s *Server) serveFavicon(w http.ResponseWriter, r *http.Request) {
	loadStatic()
	serveCached(w, r, favicon, false)
}

// assetTime is the Last-Modified of every embedded file: the binary holds them, so there is no
// file time; the ETag decides.
var assetTime = time.Time{}

func serveCached(w http.ResponseWriter, r *http.Request, f *staticFile, versioned bool) {
	h := w.Header()
	h.Set("Content-Type", f.ct)
	h.Set("ETag", f.etag)
	switch {
	case versioned:
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	case f == favicon:
		// Browsers ask for /favicon.ico by that name; a day, then revalidate.
		h.Set("Cache-Control", "public, max-age=86400")
	default:
		h.Set("Cache-Control", "no-cache")
	}
	http.ServeContent(w, r, "", assetTime, bytes.NewReader(f.body))
}

// faviconICO draws the portal's icon, a white cross on the brand red, 32×32, as a PNG inside an ICO
// container (every current browser reads PNG entries).
func faviconICO() []byte {
	const n = 32
	img := image.NewNRGBA(image.Rect(0, 0, n, n))
	red := color.NRGBA{0xb3, 0x26, 0x1e, 0xff}
	white := color.NRGBA{0xff, 0xff, 0xff, 0xff}
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			c := red
			if (x >= 13 && x < 19 && y >= 6 && y < 26) || (y >= 13 && y < 19 && x >= 6 && x < 26) {
				c = white
			}
			img.SetNRGBA(x, y, c)
		}
	}
	var p bytes.Buffer
	_ = png.Encode(&p, img)
	var b bytes.Buffer
	// ICONDIR: reserved, type 1 (icon), one image.
	_ = binary.Write(&b, binary.LittleEndian, [3]uint16{0, 1, 1})
	// ICONDIRENTRY: width, height, colours, reserved, planes, bits per pixel, size, offset.
	b.Write([]byte{n, n, 0, 0})
	_ = binary.Write(&b, binary.LittleEndian, [2]uint16{1, 32})
	_ = binary.Write(&b, binary.LittleEndian, [2]uint32{uint32(p.Len()), 6 + 16})
	b.Write(p.Bytes())
	return b.Bytes()
}

// Compression: responses whose type is text (pages, CSS, JS, JSON, SVG, CSV) are gzipped when the
// client accepts gzip. Already-compressed types (PDF, PNG, JPEG, ZIP, XLSX) pass through untouched,
// as do range requests, HEAD requests and responses that set their own Content-Encoding. The
// writer streams: nothing is buffered beyond gzip's own window, and Flush flushes the compressor,
// so a large download or a streamed response stays a stream.

func compressible(ct string) bool {
	ct, _, _ = strings.Cut(ct, ";")
	ct = strings.TrimSpace(strings.ToLower(ct))
	switch {
	case strings.HasPrefix(ct, "text/"):
		return true
	case ct == "application/json", ct == "application/javascript", ct == "image/svg+xml",
		ct == "application/problem+json", ct == "application/xml":
		return true
	}
	return false
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		name, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(name), "gzip") {
			return strings.ReplaceAll(strings.TrimSpace(q), " ", "") != "q=0"
		}
	}
	return false
}

var gzipPool = sync.Pool{New: func() any { w, _ := gzip.NewWriterLevel(nil, gzip.DefaultCompression); return w }}

type gzipWriter struct {
	http.ResponseWriter
	gz      *gzip.Writer
	decided bool
}

func (g *gzipWriter) WriteHeader(code int) {
	if !g.decided {
		g.decided = true
		h := g.Header()
		h.Add("Vary", "Accept-Encoding")
		if code != http.StatusNotModified && code != http.StatusNoContent && code >= 200 &&
			h.Get("Content-Encoding") == "" && compressible(h.Get("Content-Type")) {
			h.Set("Content-Encoding", "gzip")
			h.Del("Content-Length")
			if et := h.Get("ETag"); strings.HasPrefix(et, `"`) {
				// The compressed body is not byte-identical: the tag becomes weak, which still
				// matches the strong one in If-None-Match, so revalidation keeps its 304s.
				h.Set("ETag", "W/"+et)
			}
			g.gz = gzipPool.Get().(*gzip.Writer)
			g.gz.Reset(g.ResponseWriter)
		}
	}
	g.ResponseWriter.WriteHeader(code)
}

func (g *gzipWriter) Write(b []byte) (int, error) {
	if !g.decided {
		if g.Header().Get("Content-Type") == "" {
			g.Header().Set("Content-Type", http.DetectContentType(b))
		}
		g.WriteHeader(http.StatusOK)
	}
	if g.gz != nil {
		return g.gz.Write(b)
	}
	return g.ResponseWriter.Write(b)
}

func (g *gzipWriter) Flush() {
	if g.gz != nil {
		_ = g.gz.Flush()
	}
	if f, ok := g.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (g *gzipWriter) Unwrap() http.ResponseWriter { return g.ResponseWriter }

func (g *gzipWriter) close() {
	if g.gz != nil {
		_ = g.gz.Close()
		g.gz.Reset(nil)
		gzipPool.Put(g.gz)
		g.gz = nil
	}
}

// withGzip compresses text responses for clients that accept gzip.
func withGzip(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodHead || r.Header.Get("Range") != "" || !acceptsGzip(r) {
			next.ServeHTTP(w, r)
			return
		}
		g := &gzipWriter{ResponseWriter: w}
		defer g.close()
		next.ServeHTTP(g, r)
	})
}
