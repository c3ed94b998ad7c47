package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/shebao/shebao/internal/money"
	"github.com/shebao/shebao/internal/sheet"
)

// TestReadItems: the bill file in the forms a hospital's system exports it, and its problems named
// by line.
func TestReadItems(t *testing.T) {
	var xlsx bytes.Buffer
	if err := sheet.WriteXLSX(&xlsx, "bill", []string{"项目编码 (code)", "项目名称 (name)", "类别 (category)", "金额 (amount)"},
		[][]string{{"110200001", "普通门诊诊查费", "甲", "25"}}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, file string
		want       string // the items read, "code/category/amount;…", or the error's words
		ok         bool
	}{
		{"English header", "code,name,category,amount\nX1,诊查费,A,25.00\nX2,药品,b,1.5\n", "X1/A/25.00;X2/B/1.50", true},
		{"the template's Chinese header, Chinese categories", "项目编码,项目名称,类别,金额\nX1,诊查费,甲类,25\nX2,药品,乙,3.10\nX3,护腰带,丙类,60.00\n",
			"X1/A/25.00;X2/B/3.10;X3/C/60.00", true},
		{"columns in another order, full-width category, BOM", "\ufeff金额,类别,项目名称,项目编码\n8.00,Ｃ,口罩,C1\n", "C1/C/8.00", true},
		{"XLSX with both names in the header", xlsx.String(), "110200001/A/25.00", true},
		{"a column missing", "code,name,amount\nX1,诊查费,25.00\n", "no column category (类别)", false},
		{"no lines", "code,name,category,amount\n", "no item lines", false},
		{"every bad line named", "code,name,category,amount\n,诊查费,A,25.00\nX2,,D,0\nX3,药品,A,12.345\n",
			"line 2: the code is empty; line 3: the name is empty; line 3: category \"D\": A (甲类), B (乙类) or C (丙类); line 3: amount 0.00: above 0.00; line 4: amount \"12.345\"", false},
		{"a negative amount", "code,name,category,amount\nX1,退药,A,-5.00\n", "line 2: amount \"-5.00\": an amount in yuan", false},
		{"an unquoted thousands comma", "code,name,category,amount\nX3,药品,A,1,234.00\n", "cell E2 has a value but column E has no header", false},
		{"not a table", "\x00\x01\x02", "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			items, err := readItems([]byte(c.file))
			if c.ok != (err == nil) {
				t.Fatalf("readItems: %v, %v", items, err)
			}
			if !c.ok {
				if !strings.Contains(err.Error(), c.want) {
					t.Fatalf("error %q does not say %q", err, c.want)
				}
				return
			}
			var got []string
			for _, it := range items {
				got = append(got, it.Code+"/"+it.Category+"/"+it.Amount)
			}
			if strings.Join(got, ";") != c.want {
				t.Fatalf("read %v; want %s", got, c.want)
			}
		})
	}
}

// FuzzReadItems: any file is read or refused with an error, never a panic, and what is read is a
// bill the server can take: 1–500 lines, each with a code, a name, a category A, B or C and an
// amount in yuan above zero.
func FuzzReadItems(f *testing.F) {
	f.Add([]byte("code,name,category,amount\nX1,诊查费,A,25.00\n"))
	f.Add([]byte("项目编码,项目名称,类别,金额\nX1,诊查费,甲类,25\nX2,药品,乙,3.10\n"))
	f.Add([]byte("\ufeff金额;类别;项目名称;项目编码\n8,Ｃ,口罩,C1\n"))
	f.Add([]byte("code,name,category,amount\n,,,\n\"a\nb\",x,C,0.01\n"))
	f.Add([]byte("code,code,category,amount\n1,2,3,4\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		items, err := readItems(data)
		if err != nil {
			return
		}
		if len(items) == 0 || len(items) > maxItemLines {
			t.Fatalf("%d lines read", len(items))
		}
		for _, it := range items {
			amt, err := money.ParseYuan(it.Amount)
			if it.Code == "" || it.Name == "" || (it.Category != "A" && it.Category != "B" && it.Category != "C") || err != nil || amt <= 0 || amt.String() != it.Amount {
				t.Fatalf("a line the server cannot take: %+v", it)
			}
		}
	})
}
