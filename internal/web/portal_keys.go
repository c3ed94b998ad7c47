package web

import (
	"net/http"
	"strconv"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/keys"
)

// keysPage is the custodians' page: the seal, the requests waiting for approval, the keys.
type keysPage struct {
	Status     keys.Status
	Requests   []keys.Request
	Keys       []keys.Key
	CanUnseal  bool
	CanRequest bool
	CanApprove bool
	Holder     bool // the viewer holds a component
	Entered    bool
	Regions    []string
}

func (s *Server) keysView(r *http.Request, p *auth.Principal) (*View, error) {
	ctx := r.Context()
	st, err := s.Keys.Status(ctx)
	if err != nil {
		return nil, err
	}
	data := keysPage{Status: st, CanUnseal: p.Can(auth.UnsealKeys), CanRequest: p.Can(auth.RequestKeys), CanApprove: p.Can(auth.ApproveKeys),
		Regions: p.Regions}
	for _, c := range st.Custodians {
		if c == p.Username {
			data.Holder = true
		}
	}
	if data.Requests, err = s.Keys.Requests(ctx, p); err != nil {
		return nil, err
	}
	for _, region := range p.Regions {
		ks, err := s.Keys.List(ctx, region)
		if err != nil {
			return nil, err
		}
		data.Keys = append(data.Keys, ks...)
	}
	return s.view(r, p, "keys.title", &data), nil
}

func (s *Server) keysPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	v, err := s.keysView(r, p)
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "keys", v)
}

func (s *Server) keysAction(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	ctx := r.Context()
	var err error
	switch r.PathValue("action") {
	case "unseal":
		c, perr := keys.ParseComponent(r.PostFormValue("component"))
		if perr != nil {
			err = errs.Field("component", perr.Error())
			break
		}
		_, err = s.Keys.EnterComponent(ctx, p, c)
		clear(c)
	case "seal":
		err = s.Keys.SealBy(ctx, p)
	case "request":
		version, _ := strconv.Atoi(r.PostFormValue("version"))
		_, err = s.Keys.Request(ctx, p, keys.NewRequest{Kind: keys.RequestKind(r.PostFormValue("kind")), Region: r.PostFormValue("region"),
			Purpose: keys.Purpose(r.PostFormValue("purpose")), Version: version, Recipient: r.PostFormValue("recipient")})
	case "approve":
		id, _ := strconv.ParseInt(r.PostFormValue("id"), 10, 64)
		_, err = s.Keys.Approve(ctx, p, id)
	default:
		return errs.E(errs.NotFound, "no such action")
	}
	if err == nil {
		http.Redirect(w, r, "/keys", http.StatusSeeOther)
		return nil
	}
	v, verr := s.keysView(r, p)
	if verr != nil {
		return verr
	}
	e := s.publicError(r, err)
	if e.Code == errs.Internal {
		return e
	}
	v.Problem = e
	return s.render(w, r, statusOf(e.Code), "keys", v)
}
