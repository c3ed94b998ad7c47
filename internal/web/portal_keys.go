package web

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

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
	Me         string // the viewer's username
	Purposes   []keys.Purpose
}

// Mine reports whether the viewer made the request (and so may withdraw it, and may not approve it).
func (d *keysPage) Mine(q keys.Request) bool { return q.RequestedBy == d.Me }

// MayApprove reports whether the request waits for an approval the viewer could give: pending,
// not their own, not approved by them already.
func (d *keysPage) MayApprove(q keys.Request) bool {
	if !d.CanApprove || q.Status != "pending" || q.RequestedBy == d.Me {
		return false
	}
	return !slices.Contains(q.Approvals, d.Me)
}

func (s *Server) keysView(r *http.Request, p *auth.Principal) (*View, error) {
	ctx := r.Context()
	st, err := s.Keys.Status(ctx)
	if err != nil {
		return nil, err
	}
	data := keysPage{Status: st, CanUnseal: p.Can(auth.UnsealKeys), CanRequest: p.Can(auth.RequestKeys), CanApprove: p.Can(auth.ApproveKeys),
		Regions: p.Regions, Me: p.Username, Purposes: keys.IssuerPurposes}
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
	var notice []string
	switch r.PathValue("action") {
	case "unseal":
		c, perr := keys.ParseComponent(r.PostFormValue("component"))
		if perr != nil {
			err = errs.Field("component", perr.Error())
			break
		}
		var st keys.Status
		if st, err = s.Keys.EnterComponent(ctx, p, c); err == nil {
			if st.Sealed {
				notice = []string{"flash.keys_component", itoa(st.Entered), itoa(st.Required)}
			} else {
				notice = []string{"flash.keys_unsealed"}
			}
		}
		clear(c)
	case "seal":
		if err = p.Require(auth.SealKeys); err != nil {
			break
		}
		if ok, cerr := s.confirmed(w, r, p, "confirm.keys_seal.title", "confirm.keys_seal.what", "confirm.keys_seal.button", "/keys", nil); !ok || cerr != nil {
			return cerr
		}
		if err = s.Keys.SealBy(ctx, p); err == nil {
			notice = []string{"flash.keys_sealed"}
		}
	case "request":
		version := 0
		if v := strings.TrimSpace(r.PostFormValue("version")); v != "" {
			if version, err = strconv.Atoi(v); err != nil || version < 1 {
				err = errs.Field("version", "a whole number from 1")
				break
			}
		}
		var q keys.Request
		if q, err = s.Keys.Request(ctx, p, keys.NewRequest{Kind: keys.RequestKind(r.PostFormValue("kind")), Region: r.PostFormValue("region"),
			Purpose: keys.Purpose(r.PostFormValue("purpose")), Version: version, Recipient: r.PostFormValue("recipient")}); err == nil {
			notice = []string{"flash.keys_requested", itoa(int(q.ID))}
		}
	case "approve":
		id, _ := strconv.ParseInt(r.PostFormValue("id"), 10, 64)
		var q keys.Request
		if q, err = s.Keys.Approve(ctx, p, id); err == nil {
			if q.Status == "pending" {
				notice = []string{"flash.keys_approved", itoa(int(q.ID)), itoa(len(q.Approvals)), itoa(q.ApprovalsRequired)}
			} else {
				notice = []string{"flash.keys_done", itoa(int(q.ID))}
			}
		}
	case "withdraw":
		id, _ := strconv.ParseInt(r.PostFormValue("id"), 10, 64)
		if _, err = s.Keys.Withdraw(ctx, p, id); err == nil {
			notice = []string{"flash.keys_withdrawn", itoa(int(id))}
		}
	default:
		return errs.E(errs.NotFound, "no such action")
	}
	if err == nil {
		s.setFlash(w, r, notice[0], notice[1:]...)
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
