package rights

import (
	"bytes"
	"fmt"

	"github.com/go-pdf/fpdf"

	"github.com/shebao/shebao/internal/certificate"
	"github.com/shebao/shebao/internal/ledger"
	"github.com/shebao/shebao/internal/money"
	"github.com/shebao/shebao/internal/period"
)

// Line is one line of the record's layout, as the certificate's: data a test can hold against a
// golden file. A table's head carries the column widths (mm) its rows use.
type Line struct {
	Style  string    `json:"style"` // title, field, section, head, row, note
	Cells  []string  `json:"cells"`
	Widths []float64 `json:"widths,omitempty"`
}

var causeNames = map[string]string{
	"personal_accounts": "缴费划入 Contributions credited", "settlement": "就医结算支付 Paid for a settlement",
	"reversal": "退费退回 Refunded", "benefit": "失业保险金代缴医保 Benefit's medical share",
}

var kindNames = map[string]string{"outpatient": "门诊 Outpatient", "inpatient": "住院 Inpatient", "pharmacy": "购药 Pharmacy"}

func name(m map[string]string, k string) string {
	if n, ok := m[k]; ok {
		return n
	}
	return "其他 Other"
}

// Layout is what the record says, line by line, in Chinese and English.
func Layout(r Record) []Line {
	var ls []Line
	add := func(style string, cells ...string) { ls = append(ls, Line{Style: style, Cells: cells}) }
	table := func(widths []float64, cells ...string) {
		ls = append(ls, Line{Style: "head", Cells: cells, Widths: widths})
	}
	add("title", "个人权益记录", fmt.Sprintf("Personal rights record %d", r.Year))
	add("field", "姓名 Name", r.Name)
	add("field", "公民身份号码 ID number", r.IDMasked)
	add("field", "记录期间 Period", fmt.Sprintf("%d-01-01 – %s", r.Year, r.Through))

	add("section", "一、缴费记录 Contributions by month")
	paid, owed := 0, 0
	if len(r.Months) == 0 {
		add("note", "本年度无缴费记录。 No contributions this year.")
	} else {
		table([]float64{18, 52, 26, 26, 26, 26}, "月份 Month", "缴费单位 Paid by", "缴费基数 Base", "单位缴纳 Employer", "个人缴纳 Person", "状态 Status")
		for _, m := range r.Months {
			payer := m.PayerName
			if payer == "" {
				payer = "个人缴费 own payment"
			}
			status := "已足额缴纳 paid"
			if m.Paid {
				paid++
			} else {
				owed++
				status = "未缴 unpaid"
			}
			add("row", m.Month.String(), payer, m.Base.String(), m.ByEmployer.String(), m.ByPerson.String(), status)
		}
		add("note", fmt.Sprintf("已足额缴纳 %d 个月，未缴 %d 个月。 Paid in full: %d months; unpaid: %d months.", paid, owed, paid, owed))
	}

	for _, a := range []struct {
		title string
		acc   Account
	}{{"二、基本养老保险个人账户 Pension personal account", r.Pension}, {"三、基本医疗保险个人账户 Medical personal account", r.Medical}} {
		add("section", a.title)
		add("field", "年初余额 Opening balance", a.acc.Opening.String())
		if len(a.acc.Movements) > 0 {
			table([]float64{30, 100, 44}, "日期 Date", "摘要 Movement", "金额（元） Amount (yuan)")
			for _, m := range a.acc.Movements {
				add("row", day(m), name(causeNames, m.Cause), m.Amount.String())
			}
		} else {
			add("note", "本年度无变动。 No movements this year.")
		}
		add("field", "期末余额 Closing balance", a.acc.Closing.String())
	}

	add("section", "四、医疗费用结算 Medical settlements")
	if len(r.Settlements) == 0 {
		add("note", "本年度无结算。 No settlements this year.")
	} else {
		table([]float64{22, 48, 24, 20, 20, 20, 20}, "日期 Date", "医药机构 Institution", "类别 Kind", "总额 Total", "统筹 Pool", "个账 Account", "现金 Cash")
		var pool, acct money.Fen
		for _, s := range r.Settlements {
			kind := name(kindNames, s.Kind)
			if s.Refunded {
				kind += "（已退费 refunded）"
			} else {
				pool += s.Pool
				acct += s.Account
			}
			add("row", s.Date.Format("2006-01-02"), s.Institution, kind, s.Total.String(), s.Pool.String(), s.Account.String(), s.Cash.String())
		}
		add("note", fmt.Sprintf("统筹基金共支付 %s 元，个人账户共支付 %s 元（不含已退费）。 The pool paid %s yuan and the personal account %s yuan (refunds left out).",
			pool, acct, pool, acct))
	}

	add("section", "五、社会保险待遇 Benefits paid")
	if len(r.Benefits) == 0 {
		add("note", "本年度无待遇发放。 No benefits paid this year.")
	} else {
		table([]float64{30, 72, 72}, "月份 Month", "失业保险金（元） Unemployment benefit (yuan)", "代缴医保（元） Medical paid for (yuan)")
		var total money.Fen
		for _, b := range r.Benefits {
			total += b.Amount
			add("row", b.Month.String(), b.Amount.String(), b.MedicalPaid.String())
		}
		add("note", fmt.Sprintf("本年度共发放失业保险金 %s 元。 Unemployment benefit paid this year: %s yuan.", total, total))
	}
	add("field", "出具机构 Issued by", r.BureauZH+" "+r.BureauEN)
	add("field", "打印日期 Printed on", r.IssuedOn)
	add("note", "本记录供参保人本人核对权益，不作参保证明使用；需要证明时请开具带二维码的参保证明。 This record is for the insured person to check their rights; it is not a certificate — for proof, download the certificate with its QR code.")
	return ls
}

func day(m ledger.Movement) string { return m.At.In(period.Shanghai).Format("2006-01-02") }

// Render prints the record as a PDF in the certificate's embedded font.
func Render(r Record) ([]byte, error) {
	font, err := certificate.Font()
	if err != nil {
		return nil, err
	}
	p := fpdf.New("P", "mm", "A4", "")
	p.SetCreator("shebao", true)
	p.SetTitle(fmt.Sprintf("个人权益记录 %d", r.Year), true)
	p.AddUTF8FontFromBytes("wqy", "", font)
	p.SetMargins(18, 18, 18)
	p.SetAutoPageBreak(true, 20)
	p.AddPage()
	width, _ := p.GetPageSize()
	usable := width - 36
	var widths []float64
	for _, l := range Layout(r) {
		switch l.Style {
		case "title":
			p.SetFont("wqy", "", 20)
			p.CellFormat(usable, 11, l.Cells[0], "", 1, "C", false, 0, "")
			p.SetFont("wqy", "", 11)
			p.CellFormat(usable, 7, l.Cells[1], "", 1, "C", false, 0, "")
			p.Ln(4)
		case "section":
			p.Ln(3)
			p.SetFont("wqy", "", 12)
			p.CellFormat(usable, 8, l.Cells[0], "", 1, "L", false, 0, "")
		case "field":
			p.SetFont("wqy", "", 10)
			p.CellFormat(55, 7, l.Cells[0], "", 0, "L", false, 0, "")
			p.MultiCell(usable-55, 7, l.Cells[1], "", "L", false)
		case "head", "row":
			if l.Widths != nil {
				widths = l.Widths
			}
			p.SetFont("wqy", "", 8)
			fill := l.Style == "head"
			p.SetFillColor(235, 238, 242)
			y := p.GetY()
			if y > 265 {
				p.AddPage()
				y = p.GetY()
			}
			x, bottom := 18.0, y
			for i, cell := range l.Cells {
				w := widths[min(i, len(widths)-1)]
				p.SetXY(x, y)
				align := "L"
				if l.Style == "row" && i > 0 && isAmount(cell) {
					align = "R"
				}
				p.MultiCell(w, 5, cell, "", align, fill)
				bottom = max(bottom, p.GetY())
				x += w
			}
			p.SetY(bottom)
			p.Line(18, bottom, 18+usable, bottom)
		case "note":
			p.Ln(1)
			p.SetFont("wqy", "", 9)
			p.MultiCell(usable, 5.5, l.Cells[0], "", "L", false)
		}
	}
	var out bytes.Buffer
	if err := p.Output(&out); err != nil {
		return nil, fmt.Errorf("rights: pdf: %w", err)
	}
	return out.Bytes(), nil
}

// isAmount: a cell of digits with a decimal point, right-aligned as money is.
func isAmount(s string) bool {
	if s == "" {
		return false
	}
	dot := false
	for i, r := range s {
		switch {
		case r == '-' && i == 0:
		case r == '.':
			dot = true
		case r < '0' || r > '9':
			return false
		}
	}
	return dot
}
