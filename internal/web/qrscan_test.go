package web

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"image"
	"image/png"
	"math/bits"
	"strings"
	"testing"
)

// scanQR reads a QR code from the PNG the resident's card page shows (a data: URI), as the
// counter's scanner reads the phone's screen: the tests take the e-card's code from what the page
// shows, not from the service. It is a reader for clean images — a sharp grid of square modules
// with a quiet zone, as qrDataURI draws them — of error correction level M, without correcting
// errors (a screenshot has none): it finds the grid from the top-left finder pattern, reads the
// format, lifts the mask, takes the codewords in their zigzag order, de-interleaves the blocks and
// decodes the numeric, alphanumeric and byte segments (ISO/IEC 18004).
func scanQR(dataURI string) (string, error) {
	raw, ok := strings.CutPrefix(dataURI, "data:image/png;base64,")
	if !ok {
		return "", fmt.Errorf("not a PNG data URI")
	}
	b, err := base64.StdEncoding.DecodeString(raw)
	if err != nil {
		return "", err
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		return "", err
	}
	grid, err := sampleGrid(img)
	if err != nil {
		return "", err
	}
	return decodeGrid(grid)
}

func dark(img image.Image, x, y int) bool {
	r, g, b, _ := img.At(x, y).RGBA()
	return r+g+b < 3*0x8000
}

// sampleGrid finds the modules: the first dark pixel is the top-left finder's corner, the finder
// is 7 modules wide, and the symbol is square.
func sampleGrid(img image.Image) ([][]bool, error) {
	bd := img.Bounds()
	left, top := -1, -1
	for y := bd.Min.Y; y < bd.Max.Y && top < 0; y++ {
		for x := bd.Min.X; x < bd.Max.X; x++ {
			if dark(img, x, y) {
				left, top = x, y
				break
			}
		}
	}
	if top < 0 {
		return nil, fmt.Errorf("a blank image")
	}
	run := 0
	for x := left; x < bd.Max.X && dark(img, x, top); x++ {
		run++
	}
	if run%7 != 0 {
		return nil, fmt.Errorf("the finder is %d pixels wide, not 7 modules", run)
	}
	scale := run / 7
	right := bd.Max.X - 1
	for right > left && !dark(img, right, top) {
		right--
	}
	size := (right - left + 1) / scale
	if (size-17)%4 != 0 || size < 21 || size > 177 {
		return nil, fmt.Errorf("a symbol of %d modules", size)
	}
	grid := make([][]bool, size)
	for y := range size {
		grid[y] = make([]bool, size)
		for x := range size {
			grid[y][x] = dark(img, left+x*scale+scale/2, top+y*scale+scale/2)
		}
	}
	return grid, nil
}

// Level M's blocks by version: how many, and the error correction codewords of each.
var (
	qrBlocksM = [41]int{0, 1, 1, 1, 2, 2, 4, 4, 4, 5, 5, 5, 8, 9, 9, 10, 10, 11, 13, 14, 16, 17, 17, 18, 20, 21, 23, 25, 26, 28, 29, 31, 33, 35, 37, 38, 40, 43, 45, 47, 49}
	qrECCM    = [41]int{0, 10, 16, 26, 18, 24, 16, 18, 22, 22, 26, 30, 22, 22, 24, 24, 28, 28, 26, 26, 26, 26, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28}
)

func decodeGrid(grid [][]bool) (string, error) {
	size := len(grid)
	version := (size - 17) / 4
	// The format: level and mask, the nearest of the 32 valid 15-bit words to the first copy.
	var read uint32
	at := func(x, y int) uint32 {
		if grid[y][x] {
			return 1
		}
		return 0
	}
	for i := range 6 {
		read |= at(8, i) << i
	}
	read |= at(8, 7)<<6 | at(8, 8)<<7 | at(7, 8)<<8
	for i := 9; i < 15; i++ {
		read |= at(14-i, 8) << i
	}
	level, mask, best := -1, -1, 16
	for data := range uint32(32) {
		rem := data
		for range 10 {
			rem = rem<<1 ^ (rem>>9)*0x537
		}
		word := (data<<10 | rem&0x3FF) ^ 0x5412
		if d := bits.OnesCount32(word ^ read); d < best {
			best, level, mask = d, int(data>>3), int(data&7)
		}
	}
	if best > 3 {
		return "", fmt.Errorf("no format information")
	}
	if level != 0 { // M is 00
		return "", fmt.Errorf("error correction level %d, not M", level)
	}
	// Which modules carry data.
	fn := make([][]bool, size)
	for y := range fn {
		fn[y] = make([]bool, size)
	}
	fill := func(x0, y0, w, h int) {
		for y := max(y0, 0); y < min(y0+h, size); y++ {
			for x := max(x0, 0); x < min(x0+w, size); x++ {
				fn[y][x] = true
			}
		}
	}
	fill(0, 0, 9, 9)
	fill(size-8, 0, 8, 9)
	fill(0, size-8, 9, 8)
	fill(6, 0, 1, size)
	fill(0, 6, size, 1)
	if version >= 2 {
		n := version/7 + 2
		step := 26
		if version != 32 {
			step = (version*4 + n*2 + 1) / (n*2 - 2) * 2
		}
		pos := make([]int, n)
		pos[0] = 6
		for i, p := n-1, size-7; i >= 1; i, p = i-1, p-step {
			pos[i] = p
		}
		for _, ay := range pos {
			for _, ax := range pos {
				if ax == 6 && ay == 6 || ax == 6 && ay == size-7 || ax == size-7 && ay == 6 {
					continue
				}
				fill(ax-2, ay-2, 5, 5)
			}
		}
	}
	if version >= 7 {
		fill(0, size-11, 6, 3)
		fill(size-11, 0, 3, 6)
	}
	masked := func(x, y int) bool {
		switch mask {
		case 0:
			return (x+y)%2 == 0
		case 1:
			return y%2 == 0
		case 2:
			return x%3 == 0
		case 3:
			return (x+y)%3 == 0
		case 4:
			return (x/3+y/2)%2 == 0
		case 5:
			return x*y%2+x*y%3 == 0
		case 6:
			return (x*y%2+x*y%3)%2 == 0
		default:
			return ((x+y)%2+x*y%3)%2 == 0
		}
	}
	// The codewords in their zigzag order, two columns at a time from the right.
	var stream []byte
	var cur byte
	n := 0
	for right := size - 1; right >= 1; right -= 2 {
		if right == 6 {
			right = 5
		}
		for vert := range size {
			for j := range 2 {
				x := right - j
				y := vert
				if (right+1)&2 == 0 {
					y = size - 1 - vert
				}
				if fn[y][x] {
					continue
				}
				bit := grid[y][x] != masked(x, y)
				cur <<= 1
				if bit {
					cur |= 1
				}
				if n++; n%8 == 0 {
					stream = append(stream, cur)
					cur = 0
				}
			}
		}
	}
	// De-interleave: the short blocks first, each a data part then its error correction.
	blocks, ecc := qrBlocksM[version], qrECCM[version]
	raw := len(stream)
	short := blocks - raw%blocks
	shortLen := raw/blocks - ecc // data codewords of a short block
	data := make([][]byte, blocks)
	k := 0
	for i := 0; i <= shortLen; i++ {
		for b := range blocks {
			if i == shortLen && b < short {
				continue
			}
			data[b] = append(data[b], stream[k])
			k++
		}
	}
	var all []byte
	for _, d := range data {
		all = append(all, d...)
	}
	// The segments.
	pos := 0
	take := func(nbits int) int {
		v := 0
		for range nbits {
			v <<= 1
			if pos < len(all)*8 && all[pos/8]>>(7-pos%8)&1 == 1 {
				v |= 1
			}
			pos++
		}
		return v
	}
	var out strings.Builder
	const alnum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
	for pos+4 <= len(all)*8 {
		mode := take(4)
		big := version >= 10
		switch mode {
		case 0:
			return out.String(), nil
		case 4: // byte
			count := take(map[bool]int{false: 8, true: 16}[big])
			for range count {
				out.WriteByte(byte(take(8)))
			}
		case 2: // alphanumeric
			count := take(map[bool]int{false: 9, true: 11}[big])
			for ; count >= 2; count -= 2 {
				v := take(11)
				out.WriteByte(alnum[v/45%45])
				out.WriteByte(alnum[v%45])
			}
			if count == 1 {
				out.WriteByte(alnum[take(6)%45])
			}
		case 1: // numeric
			count := take(map[bool]int{false: 10, true: 12}[big])
			for ; count >= 3; count -= 3 {
				fmt.Fprintf(&out, "%03d", take(10))
			}
			if count == 2 {
				fmt.Fprintf(&out, "%02d", take(7))
			} else if count == 1 {
				fmt.Fprintf(&out, "%d", take(4))
			}
		default:
			return "", fmt.Errorf("segment mode %d", mode)
		}
	}
	return out.String(), nil
}

// TestScanQR: the reader reads back what qrDataURI drew, for texts of every mode and of the
// versions small and large that the e-card's code and others need.
func TestScanQR(t *testing.T) {
	for _, text := range []string{"hello", "HELLO WORLD", "0123456789", strings.Repeat("shebao-ecard.", 25), strings.Repeat("x", 700),
		"SB1.eyJhIjoiMzMwMTAw.MEUCIQD-_"} {
		uri, err := qrDataURI(text)
		if err != nil {
			t.Fatal(err)
		}
		got, err := scanQR(string(uri))
		if err != nil || got != text {
			t.Errorf("%.20q: read %.20q (%v)", text, got, err)
		}
	}
}
