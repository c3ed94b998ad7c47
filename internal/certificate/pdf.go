package certificate

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/go-pdf/fpdf"
	"github.com/yeqown/go-qrcode/v2"

	"github.com/shebao/shebao/internal/money"
)

// Why fpdf (github.com/go-pdf/fpdf v0.9.0) and not gopdf: both read TrueType and subset it, and
// both give the Chinese text back through pdftotext. fpdf lays text out in cells and multi-line
// cells, which is what a certificate's rows and wrapping payer lists need, sets the document's
// Keywords (where the payload travels) in one call, and draws the QR code as vector squares.

// Line is one line of a certificate's layout: what Render prints, in order. The layout is data
// so that a test can hold it against a golden file without reading the PDF back.
type Line struct {
	Style string   `json:"style"` // title, subtitle, field, head, row, note
	Cells []string `json:"cells"`
}

var insuranceNames = map[string]string{
	"pension": "养老保险 Pension", "medical": "医疗保险（含生育） Medical (with maternity)",
	"unemployment": "失业保险 Unemployment", "work_injury": "工伤保险 Work injury",
}

var genderNames = map[string]string{"male": "男 male", "female": "女 female"}

// Layout is what the certificate says, line by line, in Chinese and English.
func Layout(d Data) []Line {
	ls := []Line{}
	add := func(style string, cells ...string) { ls = append(ls, Line{Style: style, Cells: cells}) }
	period := fmt.Sprintf("%s – %s", d.From, d.To)
	if d.Kind == KindEmployer {
		add("title", "单位参保证明", "Certificate of social insurance for an employer's staff")
	} else {
		add("title", "参保证明", "Certificate of social insurance")
	}
	add("field", "证明编号 Serial", d.Serial)
	if d.Person != nil {
		add("field", "姓名 Name", d.Person.Name)
		add("field", "公民身份号码 ID number", d.Person.IDMasked)
		add("field", "性别 Gender", genderNames[d.Person.Gender])
	}
	if d.Employer != nil {
		add("field", "单位名称 Employer", d.Employer.Name)
		add("field", "统一社会信用代码 USCC", d.Employer.USCC)
	}
	add("field", "证明期间 Period", period)
	if d.Kind == KindPerson {
		add("head", "险种 Insurance", "缴费月数 Months paid", "缴费期间 Months", "缴费单位 Paid by", "金额（元） Amount (yuan)")
		total := 0
		for _, c := range d.Insurances {
			payers := make([]string, len(c.Payers))
			for i, p := range c.Payers {
				payers[i] = p
				if p == PayerSelf {
					payers[i] = "个人缴费 own payment"
				}
			}
			add("row", insuranceNames[c.Insurance], fmt.Sprint(c.Months), dash(strings.Join(c.Periods, ", ")), dash(strings.Join(payers, "；")),
				money.Fen(c.AmountFen).String())
			total = max(total, c.Months)
		}
		add("note", fmt.Sprintf("期间内共有 %d 个月的缴费已足额缴纳。 In the period, contributions of %d months were paid in full.", total, total))
	} else {
		add("head", "姓名 Name", "公民身份号码 ID number", "缴费月数 Months paid", "缴费期间 Months")
		for _, st := range d.Staff {
			add("row", st.Name, st.IDMasked, fmt.Sprint(st.Months), strings.Join(st.Periods, ", "))
		}
		add("note", fmt.Sprintf("期间内本单位为 %d 人足额缴纳了社会保险费。 In the period, the employer paid the contributions of %d persons in full.",
			len(d.Staff), len(d.Staff)))
	}
	add("field", "出具机构 Issued by", d.BureauZH+" "+d.BureauEN)
	add("field", "出具日期 Issued on", d.IssuedOn)
	add("field", "有效期至 Valid until", d.ValidUntil)
	add("note", "扫描二维码或访问下方地址核验本证明的真伪。 Scan the QR code or open the address below to check that this certificate is genuine.")
	return ls
}

func dash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// Render prints the certificate as a PDF whose QR code and printed address lead to verifyURL,
// with the payload in its Keywords for checks by machine and offline.
func Render(c Certificate, verifyURL string) ([]byte, error) {
	font, err := fontFile()
	if err != nil {
		return nil, err
	}
	payload, err := c.Payload()
	if err != nil {
		return nil, err
	}
	p := fpdf.New("P", "mm", "A4", "")
	p.SetCreator("shebao", true)
	p.SetTitle(c.Data.Serial, true)
	p.SetKeywords(payload, false)
	// The PDF's creation date is the certificate's own time, so the same certificate prints the
	// same file (fpdf would take the wall clock).
	p.SetCreationDate(c.IssuedAt)
	p.SetModificationDate(c.IssuedAt)
	p.AddUTF8FontFromBytes("wqy", "", font)
	p.SetMargins(18, 18, 18)
	p.SetAutoPageBreak(true, 20)
	p.AddPage()
	width, _ := p.GetPageSize()
	usable := width - 36
	for _, l := range Layout(c.Data) {
		switch l.Style {
		case "title":
			p.SetFont("wqy", "", 20)
			p.CellFormat(usable, 11, l.Cells[0], "", 1, "C", false, 0, "")
			p.SetFont("wqy", "", 11)
			p.CellFormat(usable, 7, l.Cells[1], "", 1, "C", false, 0, "")
			p.Ln(4)
		case "field":
			p.SetFont("wqy", "", 10)
			p.CellFormat(55, 7, l.Cells[0], "", 0, "L", false, 0, "")
			p.MultiCell(usable-55, 7, l.Cells[1], "", "L", false)
		case "head", "row":
			p.SetFont("wqy", "", 8.5)
			widths := columnWidths(len(l.Cells), usable)
			fill := l.Style == "head"
			p.SetFillColor(235, 238, 242)
			y := p.GetY()
			if y > 260 {
				p.AddPage()
				y = p.GetY()
			}
			x, bottom := 18.0, y
			for i, cell := range l.Cells {
				p.SetXY(x, y)
				p.MultiCell(widths[i], 5.5, cell, "", "L", fill)
				bottom = max(bottom, p.GetY())
				x += widths[i]
			}
			p.SetY(bottom)
			p.Line(18, bottom, 18+usable, bottom)
			p.Ln(1)
		case "note":
			p.Ln(2)
			p.SetFont("wqy", "", 9)
			p.MultiCell(usable, 5.5, l.Cells[0], "", "L", false)
			p.Ln(2)
		}
	}
	if err := drawQR(p, verifyURL, 18, p.GetY()+2, 34); err != nil {
		return nil, err
	}
	p.SetXY(56, p.GetY()+2)
	p.SetFont("wqy", "", 9)
	p.MultiCell(usable-38, 5.5, verifyURL, "", "L", false)
	var out bytes.Buffer
	if err := p.Output(&out); err != nil {
		return nil, fmt.Errorf("certificate: pdf: %w", err)
	}
	return out.Bytes(), nil
}

func columnWidths(n int, usable float64) []float64 {
	if n == 5 {
		return []float64{36, 18, 44, 46, usable - 144}
	}
	return []float64{30, 40, 22, usable - 92}
}

// drawQR draws text's QR code as black squares at (x, y), size mm wide, quiet zone included.
func drawQR(p *fpdf.Fpdf, text string, x, y, size float64) error {
	q, err := qrcode.NewWith(text, qrcode.WithErrorCorrectionLevel(qrcode.ErrorCorrectionMedium))
	if err != nil {
		return fmt.Errorf("certificate: qr: %w", err)
	}
	var m matrix
	if err := q.Save(&m); err != nil {
		return fmt.Errorf("certificate: qr: %w", err)
	}
	const quiet = 4
	module := size / float64(len(m.bits)+2*quiet)
	p.SetFillColor(0, 0, 0)
	for r, row := range m.bits {
		for c, dark := range row {
			if dark {
				p.Rect(x+float64(c+quiet)*module, y+float64(r+quiet)*module, module, module, "F")
			}
		}
	}
	p.SetY(y + size)
	return nil
}

// matrix keeps the QR code's modules.
type matrix struct{ bits [][]bool }

func (m *matrix) Write(q qrcode.Matrix) error { m.bits = q.Bitmap(); return nil }
func (m *matrix) Close() error                { return nil }
