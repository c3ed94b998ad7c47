package web

import (
	"net/http"
	"strings"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/card"
	"github.com/shebao/shebao/internal/errs"
)

// outletsPage lists the service outlets (网点) of the reader's regions where cards are collected;
// an administrator also finds the form that registers one.
type outletsPage struct {
	Outlets   []card.Outlet
	Regions   []string // the regions an outlet may be added in; a choice only when there are several
	CanManage bool
	Form      card.Outlet // what was typed, kept when the form comes back with a problem
}

func (s *Server) outletsView(r *http.Request, p *auth.Principal, form card.Outlet) (*View, error) {
	os, err := s.Cards.Outlets(r.Context(), p)
	if err != nil {
		return nil, err
	}
	if form.Region == "" && len(p.Regions) > 0 {
		form.Region = p.Regions[0]
	}
	data := outletsPage{Outlets: os, Regions: p.Regions, CanManage: p.Can(auth.ManageOutlets), Form: form}
	return s.view(r, p, "outlets.title", data), nil
}

func (s *Server) outletsPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	v, err := s.outletsView(r, p, card.Outlet{})
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "outlets", v)
}

// outletsAdd registers an outlet and answers with a redirect to the list, whose notice names it;
// a problem brings the form back with what was typed and the problem beside its field. A second
// press of the button (or a replay of the form) finds the code taken and adds nothing.
func (s *Server) outletsAdd(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	form := card.Outlet{Code: strings.TrimSpace(r.PostFormValue("code")), Name: strings.TrimSpace(r.PostFormValue("name")),
		Address: strings.TrimSpace(r.PostFormValue("address")), Region: strings.TrimSpace(r.PostFormValue("region"))}
	if form.Region == "" && len(p.Regions) == 1 {
		form.Region = p.Regions[0]
	}
	o, err := s.Cards.AddOutlet(r.Context(), p, form)
	if err == nil {
		s.setFlash(w, r, "flash.outlet_added", o.Name, o.Code)
		http.Redirect(w, r, "/outlets", http.StatusSeeOther)
		return nil
	}
	v, verr := s.outletsView(r, p, form)
	if verr != nil {
		return verr
	}
	return s.formError(w, r, v, "outlets", outletFields(err))
}

// outletFields names an outlet's fields as the outlet's, so that the summary above the form says
// "网点名称" where the service's "name" would read as a person's name (姓名).
func outletFields(err error) error {
	e, ok := errs.As(err)
	if !ok || len(e.Fields) == 0 {
		return err
	}
	shown := *e
	shown.Fields = map[string]string{}
	for k, v := range e.Fields {
		switch k {
		case "code", "name", "address":
			k = "outlet_" + k
		}
		shown.Fields[k] = v
	}
	return &shown
}
