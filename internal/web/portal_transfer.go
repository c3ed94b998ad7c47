package web

import (
	"net/http"
	"slices"
	"strings"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/transfer"
)

// The transfers pages (转移接续): the resident follows their transfer's steps and applies for one;
// an employer's HR applies for a new hire insured elsewhere; the receiving region's clerk accepts
// (and applies at the window); the sending region's reviewer approves or refuses; everyone who may
// sees the receipt of what moved.

type transfersPage struct {
	In, Out   []transfer.Transfer // into and out of the caller's regions (staff), or the caller's own
	ToRegions []string            // the regions a resident may apply to move to
	Apply     struct{ IDNumber, ToRegion string }
}

// transferTable is one table of transfers with the page's view, for the rows' template.
type transferTable struct {
	V    *View
	ID   string
	Rows []transfer.Transfer
}

// Table hands a list to the rows' template.
func (d *transfersPage) Table(v *View, id string, rows []transfer.Transfer) transferTable {
	return transferTable{V: v, ID: id, Rows: rows}
}

func (s *Server) transfersView(r *http.Request, p *auth.Principal, data *transfersPage) (*View, error) {
	ctx := r.Context()
	var err error
	if data.In, err = s.Transfers.List(ctx, p, transfer.Query{Direction: "in", Limit: transfer.MaxList}); err != nil {
		return nil, err
	}
	if p.Role.Staff() {
		if data.Out, err = s.Transfers.List(ctx, p, transfer.Query{Direction: "out", Limit: transfer.MaxList}); err != nil {
			return nil, err
		}
	}
	if p.Role == auth.Resident {
		regions, err := s.Policies.Regions(ctx)
		if err != nil {
			return nil, err
		}
		data.ToRegions = slices.DeleteFunc(regions, func(r string) bool { return p.InRegion(r) })
	}
	return s.view(r, p, "transfers.title", data), nil
}

// transfersPage: GET /transfers.
func (s *Server) transfersPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	v, err := s.transfersView(r, p, &transfersPage{})
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "transfers", v)
}

// transfersApply: POST /transfers applies and shows the new transfer.
func (s *Server) transfersApply(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	data := &transfersPage{}
	data.Apply.IDNumber, data.Apply.ToRegion = strings.TrimSpace(r.PostFormValue("id_number")), r.PostFormValue("to_region")
	in := transfer.NewTransfer{IDNumber: data.Apply.IDNumber, ToRegion: data.Apply.ToRegion}
	if p.Role == auth.Resident {
		me, err := s.Registry.Me(r.Context(), p)
		if err != nil {
			return err
		}
		in.IDNumber = string(me.IDNumber)
	}
	t, err := s.Transfers.Apply(r.Context(), p, in)
	if err != nil {
		v, verr := s.transfersView(r, p, data)
		if verr != nil {
			return verr
		}
		return s.formError(w, r, v, "transfers", err)
	}
	s.deliverTransfers(r.Context())
	http.Redirect(w, r, "/transfers/"+t.No+"?done=apply", http.StatusSeeOther)
	return nil
}

// transferDetail is one transfer with its receipt.
type transferDetail struct {
	transfer.Transfer
	Recorded   map[string][]period.Month // the months recorded in the receiving region, once credited
	CanAccept  bool
	CanReview  bool
	Insurances []string
}

func (s *Server) transferView(r *http.Request, p *auth.Principal, no string) (*View, error) {
	t, err := s.Transfers.Get(r.Context(), p, no)
	if err != nil {
		return nil, err
	}
	d := &transferDetail{Transfer: t, Insurances: []string{"pension", "medical", "unemployment"}}
	if t.InStatus == transfer.Credited || t.InStatus == transfer.Done {
		if d.Recorded, err = s.Transfers.MonthsOf(r.Context(), p, no); err != nil {
			return nil, err
		}
	}
	d.CanAccept = p.Can(auth.AcceptTransfer) && p.InRegion(t.ToRegion) && t.InStatus == transfer.Applied
	d.CanReview = p.Can(auth.ReviewTransfer) && p.InRegion(t.FromRegion) && t.OutStatus == transfer.Computed
	v := s.view(r, p, "transfer.title", d)
	v.Title += " " + t.No
	return v, nil
}

// transferPage: GET /transfers/{no}, the steps and the receipt.
func (s *Server) transferPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	v, err := s.transferView(r, p, r.PathValue("no"))
	if err != nil {
		return err
	}
	if done := r.URL.Query().Get("done"); slices.Contains([]string{"apply", "accept", "approve", "refuse"}, done) {
		v.Notice = v.T("transfer.done." + done)
	}
	return s.render(w, r, http.StatusOK, "transfer", v)
}

// transferAction: POST /transfers/{no}/{action}. Approving moves the money and closes the
// insurance in the sending region, so it asks first.
func (s *Server) transferAction(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	ctx, no, action := r.Context(), r.PathValue("no"), r.PathValue("action")
	var err error
	switch action {
	case "accept":
		_, err = s.Transfers.Accept(ctx, p, no)
	case "approve":
		t, gerr := s.Transfers.Get(ctx, p, no)
		if gerr != nil {
			return gerr
		}
		v := s.view(r, p, "transfer.title", nil)
		ok, cerr := s.confirmed(w, r, p, "transfer.confirm.title", "transfer.confirm.what", "transfer.approve", "/transfers/"+no, []confirmFact{
			{v.T("transfer.no"), t.No}, {v.T("f.name"), t.Name},
			{v.T("transfer.route"), v.Region(t.FromRegion) + " → " + v.Region(t.ToRegion)},
			{v.T("transfer.total"), t.Amounts.Total().Grouped() + " " + v.T("bills.yuan")}})
		if cerr != nil || !ok {
			return cerr
		}
		_, err = s.Transfers.Approve(ctx, p, no)
	case "refuse":
		_, err = s.Transfers.Refuse(ctx, p, no, r.PostFormValue("reason"))
	default:
		return errs.E(errs.NotFound, "no such action")
	}
	if err != nil {
		v, verr := s.transferView(r, p, no)
		if verr != nil {
			return verr
		}
		return s.formError(w, r, v, "transfer", err)
	}
	s.deliverTransfers(ctx)
	http.Redirect(w, r, "/transfers/"+no+"?done="+action, http.StatusSeeOther)
	return nil
}

// Region names a pooling region in the reader's language, with its code.
func (v *View) Region(code string) string {
	if name, ok := regionNames[code]; ok {
		return v.Pick(name[0], name[1]) + " (" + code + ")"
	}
	return code
}

// regionNames are the regions the demo and the tests serve; another region shows its code.
var regionNames = map[string][2]string{
	"330100": {"杭州市", "Hangzhou"},
	"330200": {"宁波市", "Ningbo"},
	"110100": {"北京市", "Beijing"},
}

func init() { addMessages(transferMessages) }

var transferMessages = map[string][2]string{
	"menu.transfers":       {"转移接续", "Transfers"},
	"transfers.title":      {"社会保险关系转移接续", "Transfers between regions"},
	"transfers.intro":      {"到另一个统筹区工作的，在新参保地申请转移：养老保险个人账户和统筹基金（1998年以来实际缴费基数的12%）、医疗保险个人账户随人转移，缴费年限累计计算。", "Someone who starts work in another region applies there: the pension personal account and the pooled part (12 % of the bases actually paid since 1998), and the medical personal account, move with them, and the years paid are added up."},
	"transfers.apply":      {"申请转入本统筹区", "Apply to move insurance into this region"},
	"transfers.apply_me":   {"申请转移我的社会保险关系", "Apply to move my insurance"},
	"transfers.to":         {"转入统筹区", "Moving to"},
	"transfers.submit":     {"提交申请", "Apply"},
	"transfers.in":         {"转入本统筹区", "Into this region"},
	"transfers.out":        {"转出本统筹区", "Out of this region"},
	"transfers.mine":       {"我的转移申请", "My transfers"},
	"transfers.none":       {"暂无转移申请。", "No transfers."},
	"transfers.no_regions": {"本系统暂无可转入的其他统筹区。", "This service serves no other region to move to."},

	"transfer.title":               {"转移接续", "Transfer"},
	"transfer.no":                  {"转移编号", "Transfer number"},
	"transfer.route":               {"转出地 → 转入地", "From → to"},
	"transfer.status":              {"办理状态", "Status"},
	"transfer.steps":               {"办理进度", "Steps"},
	"transfer.receipt":             {"转移凭证", "Receipt"},
	"transfer.receipt_intro":       {"以下为转出地核定并转移的金额和缴费月数。", "What the sending region computed and moved, and the months paid."},
	"transfer.pension_account":     {"养老保险个人账户", "Pension personal account"},
	"transfer.pooled":              {"养老保险统筹基金（12%）", "Pension pooled part (12 %)"},
	"transfer.pooled_bases":        {"计算统筹基金的缴费基数合计", "Bases the pooled part is computed on"},
	"transfer.medical_account":     {"医疗保险个人账户", "Medical personal account"},
	"transfer.total":               {"转移资金合计", "Total moved"},
	"transfer.months":              {"缴费月数", "Months paid"},
	"transfer.months.pension":      {"养老保险", "Pension"},
	"transfer.months.medical":      {"医疗保险", "Medical"},
	"transfer.months.unemployment": {"失业保险", "Unemployment"},
	"transfer.months_list":         {"转入的缴费月份", "The months recorded"},
	"transfer.temporary":           {"按国办发〔2009〕66号规定：男性年满50周岁、女性年满40周岁跨省流动且未回户籍地就业的，养老保险关系保留在原参保地，在新参保地建立临时基本养老保险缴费账户；只转移医疗保险个人账户和失业保险缴费年限。", "Under 国办发〔2009〕66号, a man of 50 or more or a woman of 40 or more moving to a province other than that of their household registration keeps the pension relation at the old place, and the new place opens a temporary pension contribution account; only the medical personal account and the unemployment months move."},
	"transfer.refusal":             {"不予转移的原因", "Reason for refusal"},
	"transfer.not_yet":             {"转出地核定后显示。", "Shown once the sending region has computed it."},
	"transfer.accept":              {"受理", "Accept"},
	"transfer.approve":             {"审核通过并转出资金", "Approve and send the money"},
	"transfer.refuse":              {"不予转移", "Refuse"},
	"transfer.reason":              {"原因（申请人可见）", "Reason (the applicant reads it)"},
	"transfer.open":                {"查看", "Open"},
	"transfer.confirm.title":       {"确认转出", "Confirm the transfer"},
	"transfer.confirm.what":        {"审核通过后，此人在本统筹区的个人账户余额和统筹基金部分转入对方统筹区，本统筹区的参保关系终止。此操作不能撤销。", "Once approved, the person's personal accounts and the pooled part go to the other region and the insurance here ends. This cannot be undone."},
	"transfer.done.apply":          {"申请已提交，请等待转入地经办机构受理。", "Applied; the receiving region's bureau will take it on."},
	"transfer.done.accept":         {"已受理，已向转出地发出联系函。", "Accepted; the request went to the sending region."},
	"transfer.done.approve":        {"已审核通过，资金已转出。", "Approved; the money was sent."},
	"transfer.done.refuse":         {"已不予转移，并已告知转入地。", "Refused; the receiving region was told."},

	"transfer.step.applied":  {"提交申请", "Applied"},
	"transfer.step.accepted": {"转入地受理并发出联系函", "Accepted by the receiving region"},
	"transfer.step.computed": {"转出地核定转移金额", "Amounts computed by the sending region"},
	"transfer.step.approved": {"转出地审核通过，资金转出", "Approved; money sent by the sending region"},
	"transfer.step.credited": {"转入地记入个人账户和缴费年限", "Credited to the accounts in the receiving region"},
	"transfer.step.remitted": {"转出地完成资金划拨", "Money remitted by the sending region"},
	"transfer.step.done":     {"办结", "Done"},
	"transfer.step.refused":  {"不予转移", "Refused"},

	"tstatus.applied":  {"待受理", "Waiting to be accepted"},
	"tstatus.accepted": {"待转出地核定", "Waiting for the sending region"},
	"tstatus.computed": {"待转出地审核", "Waiting for the sending region's review"},
	"tstatus.sent":     {"资金已转出", "Money sent"},
	"tstatus.credited": {"已记入个人账户", "Credited"},
	"tstatus.done":     {"已办结", "Done"},
	"tstatus.refused":  {"不予转移", "Refused"},
}
