package web

import (
	"bytes"
	"encoding/base64"
	"html/template"
	"image"
	"image/color"
	"image/png"

	"github.com/yeqown/go-qrcode/v2"
)

// qrDataURI renders text as a QR code PNG in a data: URI, so the page needs no extra request and
// no script; the Content-Security-Policy allows data: images.
func qrDataURI(text string) (template.URL, error) {
	q, err := qrcode.NewWith(text, qrcode.WithErrorCorrectionLevel(qrcode.ErrorCorrectionMedium))
	if err != nil {
		return "", err
	}
	var w pngWriter
	if err := q.Save(&w); err != nil {
		return "", err
	}
	return template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(w.buf.Bytes())), nil
}

// pngWriter draws the QR matrix with a four-module quiet zone, six pixels a module.
type pngWriter struct{ buf bytes.Buffer }

func (w *pngWriter) Write(m qrcode.Matrix) error {
	const scale, quiet = 6, 4
	bits := m.Bitmap()
	size := (len(bits) + 2*quiet) * scale
	img := image.NewGray(image.Rect(0, 0, size, size))
	for i := range img.Pix {
		img.Pix[i] = 0xFF
	}
	for y, row := range bits {
		for x, dark := range row {
			if !dark {
				continue
			}
			for dy := range scale {
				for dx := range scale {
					img.SetGray((x+quiet)*scale+dx, (y+quiet)*scale+dy, color.Gray{Y: 0})
				}
			}
		}
	}
	return png.Encode(&w.buf, img)
}

func (w *pngWriter) Close() error { return nil }
