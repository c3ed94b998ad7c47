package web

import (
	"net/http"
	"strings"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/card"
	"github.com/shebao/shebao/internal/errs"
)

// progressPage is the public card-progress inquiry (制卡进度查询): anyone holding both the ID
// number and the application number sees how far the application has gone, as the guide tells
// applicants to check. It shows what GET /api/v1/public/card-progress answers, and no more: the
// name masked to its first character, the ID number masked, no card number.
type progressPage struct {
	IDNumber, ApplicationNo string
	Card                    *card.Card
	Steps                   []card.Event
}

// progress: GET /progress shows the form; with both numbers it answers below it, within the API's
// limit per client address (allowProgressInquiry).
func (s *Server) progress(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	q := r.URL.Query()
	data := &progressPage{IDNumber: strings.TrimSpace(q.Get("id_number")), ApplicationNo: strings.TrimSpace(q.Get("application_no"))}
	v := s.view(r, p, "progress.title", data)
	if data.IDNumber == "" && data.ApplicationNo == "" {
		return s.render(w, r, http.StatusOK, "progress", v)
	}
	if data.ApplicationNo == "" {
		return s.formError(w, r, v, "progress", errs.Field("application_no", "required"))
	}
	if err := s.allowProgressInquiry(r); err != nil {
		return s.formError(w, r, v, "progress", err)
	}
	c, events, err := s.Cards.PublicProgress(r.Context(), data.IDNumber, data.ApplicationNo)
	if err != nil {
		// Not found is an answer to the inquiry, not a missing page: the form stays, with it.
		if e := s.publicError(r, err); e.Code == errs.NotFound {
			v.Problem = e
			return s.render(w, r, http.StatusNotFound, "progress", v)
		}
		return s.formError(w, r, v, "progress", err)
	}
	data.Card, data.Steps = &c, events
	return s.render(w, r, http.StatusOK, "progress", v)
}

func init() { addMessages(progressMessages) }

var progressMessages = map[string][2]string{
	"progress.title":  {"制卡进度查询", "Card progress"},
	"progress.intro":  {"输入身份证号和申领时拿到的申领编号，查看社保卡办到了哪一步、在哪个网点领取。不需要登录。", "Type your ID number and the application number you were given when you applied to see how far your social security card has got and where to collect it. No login needed."},
	"progress.check":  {"查询", "Look up"},
	"progress.outlet": {"领卡网点", "Collect at"},
	"progress.guide":  {"办事指南", "Service guide"},
	"progress.login":  {"登录", "Log in"},
	"login.progress":  {"制卡进度查询（无需登录）", "Card progress (no login needed)"},
}
