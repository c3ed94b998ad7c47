package sheet

import (
	"bytes"
	"testing"
)

func benchmarkRead(b *testing.B, data []byte, rows int) {
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		t, err := Read(bytes.NewReader(data), Limits{})
		if err != nil {
			b.Fatal(err)
		}
		if len(t.Rows) != rows {
			b.Fatalf("%d rows, want %d", len(t.Rows), rows)
		}
	}
}

func BenchmarkReadXLSX10k(b *testing.B) {
	header, rows := bigRows(10_000)
	benchmarkRead(b, mustXLSX(b, header, rows), len(rows))
}

// BenchmarkReadXLSX100k is the bulk import's budget: well under 5 s a file on
// the project's 2-core machines.
func BenchmarkReadXLSX100k(b *testing.B) {
	header, rows := bigRows(100_000)
	benchmarkRead(b, mustXLSX(b, header, rows), len(rows))
}

func BenchmarkReadCSV10k(b *testing.B) {
	header, rows := bigRows(10_000)
	benchmarkRead(b, mustCSV(b, header, rows), len(rows))
}

func BenchmarkWriteXLSX10k(b *testing.B) {
	header, rows := bigRows(10_000)
	b.ReportAllocs()
	for b.Loop() {
		var buf bytes.Buffer
		if err := WriteXLSX(&buf, "", header, rows); err != nil {
			b.Fatal(err)
		}
	}
}
