//go:build ignore

// extract writes one face of a TrueType collection (TTC) as a standalone TrueType font, gzipped:
// the PDF library reads TrueType, not collections.
//
//	go run extract.go /usr/share/fonts/truetype/wqy/wqy-microhei.ttc 0 wqy-microhei.ttf.gz
//
// A font file is a table directory and its tables; a collection's faces share tables and point
// into the one file. The face's directory is copied with each table placed after it in tag order,
// offsets rewritten, every table 4-byte aligned as the format requires.
package main

import (
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"os"
	"sort"
	"strconv"
)

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: go run extract.go FILE.ttc FACE OUT.ttf.gz")
		os.Exit(2)
	}
	b, err := os.ReadFile(os.Args[1])
	check(err)
	face, err := strconv.Atoi(os.Args[2])
	check(err)
	if len(b) < 12 || string(b[:4]) != "ttcf" {
		check(fmt.Errorf("%s is not a TrueType collection", os.Args[1]))
	}
	if n := int(binary.BigEndian.Uint32(b[8:])); face < 0 || face >= n {
		check(fmt.Errorf("the collection has %d faces", n))
	}
	off := binary.BigEndian.Uint32(b[12+4*face:])
	numTables := int(binary.BigEndian.Uint16(b[off+4:]))
	type table struct {
		tag                    string
		checksum, offset, size uint32
	}
	tables := make([]table, numTables)
	for i := range tables {
		r := off + 12 + uint32(i)*16
		tables[i] = table{string(b[r : r+4]), binary.BigEndian.Uint32(b[r+4:]), binary.BigEndian.Uint32(b[r+8:]), binary.BigEndian.Uint32(b[r+12:])}
	}
	sort.Slice(tables, func(i, j int) bool { return tables[i].tag < tables[j].tag })
	out := make([]byte, 12+16*numTables)
	copy(out, b[off:off+12])
	for i, t := range tables {
		for len(out)%4 != 0 {
			out = append(out, 0)
		}
		r := 12 + i*16
		copy(out[r:], t.tag)
		binary.BigEndian.PutUint32(out[r+4:], t.checksum)
		binary.BigEndian.PutUint32(out[r+8:], uint32(len(out)))
		binary.BigEndian.PutUint32(out[r+12:], t.size)
		out = append(out, b[t.offset:t.offset+t.size]...)
	}
	f, err := os.Create(os.Args[3])
	check(err)
	z, err := gzip.NewWriterLevel(f, gzip.BestCompression)
	check(err)
	_, err = z.Write(out)
	check(err)
	check(z.Close())
	check(f.Close())
	fmt.Printf("face %d: %d tables, %d bytes\n", face, numTables, len(out))
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
