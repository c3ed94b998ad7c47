package certificate

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"fmt"
	"io"
	"sync"

	"golang.org/x/image/font/sfnt"
)

// The font every certificate is set in: WenQuanYi Micro Hei (fonts/README.md says where it comes
// from and under which licence). Embedded, so a certificate looks the same on every machine and
// needs no font installed; each PDF carries only the subset of glyphs it uses.
//
//go:embed fonts/wqy-microhei.ttf.gz
var fontGz []byte

// fontFile is the font, unpacked once when the first certificate is made.
var fontFile = sync.OnceValues(func() ([]byte, error) {
	z, err := gzip.NewReader(bytes.NewReader(fontGz))
	if err != nil {
		return nil, fmt.Errorf("certificate: font: %w", err)
	}
	b, err := io.ReadAll(z)
	if err != nil {
		return nil, fmt.Errorf("certificate: font: %w", err)
	}
	return b, nil
})

var parsedFont = sync.OnceValues(func() (*sfnt.Font, error) {
	b, err := fontFile()
	if err != nil {
		return nil, err
	}
	return sfnt.Parse(b)
})

// Missing lists the characters of s the font has no glyph for (spaces and line breaks aside): a
// certificate never prints a name as empty boxes, so such text is refused before anything is
// signed.
func Missing(s string) ([]rune, error) {
	f, err := parsedFont()
	if err != nil {
		return nil, err
	}
	var buf sfnt.Buffer
	var out []rune
	seen := map[rune]bool{}
	for _, r := range s {
		if r == ' ' || r == '\n' || seen[r] {
			continue
		}
		seen[r] = true
		if g, err := f.GlyphIndex(&buf, r); err != nil || g == 0 {
			out = append(out, r)
		}
	}
	return out, nil
}

// Font is the embedded TrueType font (WenQuanYi Micro Hei, face 0), for the other documents the
// bureau prints in the same face (the personal rights record).
func Font() ([]byte, error) { return fontFile() }
