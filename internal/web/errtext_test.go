package web

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/shebao/shebao/internal/errs"
)

// literalErrors finds, in the source of every package, the messages and field names the code
// writes literally: errs.E(code, "…"), errs.Wrap(code, err, "…"), errs.Field("name", "…") and
// fields.Add("name", "…").
func literalErrors(t *testing.T) (messages, fields map[string]string) {
	t.Helper()
	messages, fields = map[string]string{}, map[string]string{}
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return err
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		ast.Inspect(f, func(n ast.Node) bool {
			// A sheet's problems, &sheet.Error{Reason: …}, and errors made whole, &errs.Error{Message: …}.
			if kv, ok := n.(*ast.KeyValueExpr); ok {
				if k, ok := kv.Key.(*ast.Ident); ok && (k.Name == "Reason" || k.Name == "Message") {
					if s, ok := literalText(kv.Value); ok {
						messages[s] = fset.Position(kv.Pos()).String()
					}
				}
				return true
			}
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			// The ID checks' problems: fail(ErrX, "…", …).
			if id, ok := call.Fun.(*ast.Ident); ok && id.Name == "fail" && len(call.Args) > 1 {
				if s, ok := literalText(call.Args[1]); ok {
					messages[s] = fset.Position(call.Pos()).String()
				}
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			lit := func(i int) (string, bool) {
				if i >= len(call.Args) {
					return "", false
				}
				return literalText(call.Args[i])
			}
			pkg, _ := sel.X.(*ast.Ident)
			where := fset.Position(call.Pos()).String()
			inErrs := pkg != nil && pkg.Name == "errs"
			// An internal error's message is never shown: publicError says "internal error".
			if inErrs && len(call.Args) > 0 {
				if c, ok := call.Args[0].(*ast.SelectorExpr); ok && c.Sel.Name == "Internal" {
					return true
				}
			}
			switch {
			case inErrs && sel.Sel.Name == "E":
				if s, ok := lit(1); ok {
					messages[s] = where
				}
			case inErrs && sel.Sel.Name == "Wrap":
				if s, ok := lit(2); ok {
					messages[s] = where
				}
			case inErrs && sel.Sel.Name == "Field", sel.Sel.Name == "Add":
				name, ok1 := lit(0)
				problem, ok2 := lit(1)
				// Header().Add("Vary", …) and the like are not fields: field keys are lower case.
				if ok1 && ok2 && name != "" && unicode.IsLower(rune(name[0])) && !strings.HasPrefix(name, "_") {
					fields[name] = where
					messages[problem] = where
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return messages, fields
}

// literalText is the text of a string literal, of fmt.Sprintf of one, or of a literal followed
// by a value ("larger than " + n): the format the message is made from.
func literalText(x ast.Expr) (string, bool) {
	switch x := x.(type) {
	case *ast.BasicLit:
		if x.Kind != token.STRING {
			return "", false
		}
		s, err := strconv.Unquote(x.Value)
		return s, err == nil
	case *ast.CallExpr:
		if sel, ok := x.Fun.(*ast.SelectorExpr); ok && sel.Sel.Name == "Sprintf" && len(x.Args) > 0 {
			return literalText(x.Args[0])
		}
	case *ast.BinaryExpr:
		if x.Op != token.ADD {
			return "", false
		}
		left, ok := literalText(x.X)
		if !ok {
			return "", false
		}
		if right, ok := literalText(x.Y); ok {
			return left + right, true
		}
		return left + "%s", true
	}
	return "", false
}

// TestEveryErrorHasChineseWords: every message and field the code writes literally has its Chinese,
// with the same values in it, so that a Chinese page never shows an English sentence or a field key.
func TestEveryErrorHasChineseWords(t *testing.T) {
	messages, fields := literalErrors(t)
	if len(messages) < 100 || len(fields) < 50 {
		t.Fatalf("the scan found only %d messages and %d fields", len(messages), len(fields))
	}
	for m, where := range messages {
		if m == "%s" || han.MatchString(m) {
			continue // a message passed on whole, or worded in Chinese already
		}
		zh, ok := problemsZH[m]
		if !ok {
			t.Errorf("%s: no Chinese for %q", where, m)
			continue
		}
		if !han.MatchString(zh) {
			t.Errorf("%s: the Chinese of %q has no Chinese: %q", where, m, zh)
		}
		if a, b := len(verb.FindAllString(m, -1)), len(verb.FindAllString(zh, -1)); a != b {
			t.Errorf("%q has %d values, its Chinese %q %d", m, a, zh, b)
		}
	}
	for f, where := range fields {
		if strings.Contains(f, "%") {
			continue // a key made at run time ("materials.%s"): its parts are named
		}
		if label := zh.FieldLabel(f); label == f || !han.MatchString(label) {
			t.Errorf("%s: field %q has no Chinese name (%q)", where, f, label)
		}
		if label := en.FieldLabel(f); label == f {
			t.Errorf("%s: field %q has no English name", where, f)
		}
	}
}

// TestErrorText: a field's error on a Chinese page names the field in Chinese and gives its
// problem in Chinese, values and field keys inside shown by name; a message the catalogue lacks is
// said by its kind; the English page names the fields in English.
func TestErrorText(t *testing.T) {
	idErr := errs.Field("id_number", "check character should be 5")
	if got := zh.ErrorText(idErr); got != "请检查：公民身份号码：校验码应为 5" {
		t.Errorf("zh: %q", got)
	}
	if got := en.ErrorText(idErr); got != "Please check: ID number: check character should be 5" {
		t.Errorf("en: %q", got)
	}
	f := errs.Fields{}
	f.Add("materials.hukou_book", "needs an accepted upload")
	f.Add("items[2].amount", "must not be empty")
	got := zh.ErrorText(f.Err().(*errs.Error))
	for _, want := range []string{"户口簿：须上传并通过审核", "费用明细第 3 项 · 金额：不能为空"} {
		if !strings.Contains(got, want) {
			t.Errorf("zh %q lacks %q", got, want)
		}
	}
	if strings.ContainsAny(got, "abcdefghijklmnopqrstuvwxyz_") {
		t.Errorf("a field key on the Chinese page: %q", got)
	}
	missing := errs.E(errs.Invalid, "materials missing or not accepted: %s", "materials.hukou_book, materials.photo")
	if got := zh.ErrorText(missing); got != "材料缺少或未通过审核：户口簿、照片" {
		t.Errorf("zh: %q", got)
	}
	if got := zh.ErrorText(errs.E(errs.Conflict, "something no catalogue has")); got != errsZH[errs.Conflict] {
		t.Errorf("an unknown conflict: %q", got)
	}
	internal := &errs.Error{Code: errs.Internal, Message: "internal error (request abc123)"}
	if got := zh.ErrorText(internal); !strings.Contains(got, "abc123") || !han.MatchString(got) {
		t.Errorf("internal: %q", got)
	}
	if zh.Problem("a problem no catalogue has") != errsZH[errs.Invalid] || en.Problem("x") != "x" {
		t.Error("an unknown problem")
	}
}
