package errs

import (
	"strings"
	"testing"
)

func TestRowProblems(t *testing.T) {
	var none RowProblems
	if none.Err("x") != nil {
		t.Fatal("no problems, yet an error")
	}
	p := &RowProblems{}
	for line := 2; line < 2+MaxRowProblems; line++ {
		p.Add(RowProblem{Line: line, Reason: "a"})
		p.Add(RowProblem{Line: line, Reason: "b"}) // two problems a row
	}
	e, _ := As(p.Err("bad rows."))
	if p.Lines != MaxRowProblems || len(e.Rows) != MaxRowProblems || e.Rows[len(e.Rows)-1].Line != 2+MaxRowProblems/2-1 {
		t.Fatalf("%d rows counted, %d listed, last on line %d", p.Lines, len(e.Rows), e.Rows[len(e.Rows)-1].Line)
	}
	if !strings.Contains(e.Message, "The first 1000 problems are listed") || e.Code != Invalid || e.Fields["file"] == "" {
		t.Fatalf("%+v", e)
	}
	all := &RowProblems{}
	all.Add(RowProblem{Line: 5, Reason: "a"})
	if e, _ := As(all.Err("one.")); e.Message != "one." || len(e.Rows) != 1 {
		t.Fatalf("%+v", e)
	}
}
