package web

import (
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/card"
	"github.com/shebao/shebao/internal/errs"
)

// myCardPage is the resident's card page: the card, its progress, what they can do with it, and
// the electronic card's QR code.
type myCardPage struct {
	Cards    []cardWithSteps
	CanApply bool
	Live     *card.Card
	ECard    bool
	QR       template.URL
	QRText   string
	QRUntil  time.Time
}

type cardWithSteps struct {
	Card  card.Card
	Steps []card.Event
}

func (s *Server) myCardView(r *http.Request, p *auth.Principal, withQR bool) (*View, error) {
	ctx := r.Context()
	cs, err := s.Cards.Mine(ctx, p)
	if err != nil {
		return nil, err
	}
	data := myCardPage{CanApply: true}
	for i := range cs {
		_, steps, err := s.Cards.History(ctx, p, cs[i].ID)
		if err != nil {
			return nil, err
		}
		data.Cards = append(data.Cards, cardWithSteps{Card: cs[i], Steps: steps})
		if cs[i].State.Live() {
			data.CanApply = false
			if data.Live == nil {
				data.Live = &cs[i]
			}
		}
	}
	if data.Live != nil && data.Live.State.Usable() {
		if data.ECard, err = s.Cards.HasECard(ctx, data.Live.ID); err != nil {
			return nil, err
		}
		if data.ECard && withQR {
			text, until, err := s.Cards.QR(ctx, p)
			if err != nil {
				return nil, err
			}
			if data.QR, err = qrDataURI(text); err != nil {
				return nil, err
			}
			data.QRText, data.QRUntil = text, until
		}
	}
	return s.view(r, p, "mycard.title", &data), nil
}

func (s *Server) myCardPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	v, err := s.myCardView(r, p, r.URL.Query().Get("qr") == "1")
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "mycard", v)
}

// myCardAction handles the resident's buttons: apply, activate, temporary loss, unlock, loss,
// replace, e-card sign-up.
func (s *Server) myCardAction(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	ctx := r.Context()
	// The photo forms are read within an upload slot and their size limit: no field is read before.
	id := func() int64 {
		n, _ := strconv.ParseInt(r.PostFormValue("id"), 10, 64)
		return n
	}
	var err error
	var notice []string // the flash key and its arguments, once the action is done
	action := r.PathValue("action")
	switch action {
	case "apply", "photo":
		release, gerr := s.enterUpload(w, r)
		if gerr != nil {
			err = gerr
			break
		}
		defer release()
		photo, perr := formPhoto(r)
		if perr != nil {
			err = perr
			break
		}
		if action == "apply" {
			me, merr := s.Registry.Me(ctx, p)
			if merr != nil {
				return merr
			}
			c, aerr := s.Cards.Apply(ctx, p, string(me.IDNumber))
			if aerr != nil {
				err = aerr
				break
			}
			if _, err = s.Cards.SetPhoto(ctx, p, c.ID, photo); err == nil {
				notice = []string{"flash.card_applied", c.ApplicationNo}
			}
			break
		}
		if _, err = s.Cards.SetPhoto(ctx, p, id(), photo); err == nil {
			notice = []string{"flash.card_photo"}
		}
	case "activate":
		if r.PostFormValue("pin") != r.PostFormValue("pin2") {
			err = errs.Field("pin2", "the two PINs differ")
		} else if _, err = s.Cards.Activate(ctx, p, id(), r.PostFormValue("pin")); err == nil {
			notice = []string{"flash.card_activated"}
		}
	case "temporary-loss":
		if _, err = s.Cards.ReportTemporaryLoss(ctx, p, id()); err == nil {
			notice = []string{"flash.card_temp_lost"}
		}
	case "unlock":
		if _, err = s.Cards.Unlock(ctx, p, id()); err == nil {
			notice = []string{"flash.card_unlocked"}
		}
	case "loss", "replace":
		c, gerr := s.Cards.Get(ctx, p, id())
		if gerr != nil {
			err = gerr
			break
		}
		if ok, cerr := s.confirmed(w, r, p, "confirm.card_"+action+".title", "confirm.card_"+action+".what", "confirm.card_"+action+".button", "/card",
			cardFacts(pickLang(r), c)); !ok || cerr != nil {
			return cerr
		}
		if action == "loss" {
			if _, err = s.Cards.ReportLoss(ctx, p, c.ID); err == nil {
				notice = []string{"flash.card_lost", c.CardNumber}
			}
			break
		}
		var nc card.Card
		if nc, err = s.Cards.Replace(ctx, p, c.ID, r.PostFormValue("reason")); err == nil {
			notice = []string{"flash.card_replaced", nc.ApplicationNo}
		}
	case "ecard":
		if _, err = s.Cards.SignUpECard(ctx, p); err == nil {
			notice = []string{"flash.ecard"}
		}
	default:
		return errs.E(errs.NotFound, "no such action")
	}
	if err == nil {
		target := "/card"
		if action == "ecard" {
			target = "/card?qr=1"
		}
		s.setFlash(w, r, notice[0], notice[1:]...)
		http.Redirect(w, r, target, http.StatusSeeOther)
		return nil
	}
	v, verr := s.myCardView(r, p, false)
	if verr != nil {
		return verr
	}
	return s.formError(w, r, v, "mycard", err)
}

// cardFacts names a card on a confirmation page: its holder, numbers and state.
func cardFacts(l lang, c card.Card) []confirmFact {
	facts := []confirmFact{{l.T("f.name"), c.Name}, {l.T("mycard.application"), c.ApplicationNo}}
	if c.CardNumber != "" {
		facts = append(facts, confirmFact{l.T("mycard.number"), c.CardNumber})
	}
	return append(facts, confirmFact{l.T("enrol.status"), l.T("cstate." + string(c.State))})
}

// cardsPage is the bureau's card desk: a search by what the person at the window presents,
// applications to decide, cards to hand out, the window's card services (PIN reset, temporary
// card, replacement, cancellation), batches.
type cardsPage struct {
	State      string
	Query      string // the search: ID number, card or application number, or the start of a name
	States     []card.State
	Cards      []card.Card
	Outlets    []card.Outlet
	Batches    []card.Batch
	CanReview  bool
	CanHandOut bool // hand over, PIN reset, temporary cards
	CanHolder  bool // replacement at the window
	CanCancel  bool
	CanProduce bool
	Approved   int
}

// Allows reports whether the card's state admits a transition of the table, for the desk's
// buttons: {{if $d.Allows . "cancel"}}. Who may press it is the page's Can… fields.
func (d *cardsPage) Allows(c card.Card, action string) bool {
	_, ok, _ := card.Next(c.State, card.Action(action), "")
	return ok
}

// PINResettable reports whether the card has a PIN the desk can reset.
func (d *cardsPage) PINResettable(c card.Card) bool {
	return c.State == card.Active || c.State == card.TemporarilyLost
}

func (s *Server) cardsView(r *http.Request, p *auth.Principal, state, query string) (*View, error) {
	ctx := r.Context()
	data := cardsPage{State: state, Query: query, States: card.States, CanReview: p.Can(auth.ReviewCard), CanHandOut: p.Can(auth.HandOutCard),
		CanHolder: p.Can(auth.HolderCard), CanCancel: p.Can(auth.CancelCard), CanProduce: p.Can(auth.ProduceCards)}
	v := s.view(r, p, "cards.title", &data)
	var err error
	if data.Cards, err = s.Cards.Search(ctx, p, query, card.State(state), 200); err != nil {
		if errs.CodeOf(err) != errs.Invalid {
			return nil, err
		}
		v.Problem = s.publicError(r, err)
	}
	if data.CanProduce {
		if data.Outlets, err = s.Cards.Outlets(ctx, p); err != nil {
			return nil, err
		}
		if data.Batches, err = s.Cards.Batches(ctx, p); err != nil {
			return nil, err
		}
		approved, err := s.Cards.List(ctx, p, card.Approved, 10000)
		if err != nil {
			return nil, err
		}
		data.Approved = len(approved)
	}
	return v, nil
}

func (s *Server) cardsPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	v, err := s.cardsView(r, p, r.URL.Query().Get("state"), r.URL.Query().Get("q"))
	if err != nil {
		return err
	}
	status := http.StatusOK
	if v.Problem != nil {
		status = statusOf(v.Problem.Code)
	}
	return s.render(w, r, status, "cards", v)
}

func (s *Server) cardsAction(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	ctx := r.Context()
	// Read from the form only once the case knows: the result file is read within an upload slot,
	// and reading any field would read the file first.
	id := func() int64 {
		n, _ := strconv.ParseInt(r.PostFormValue("id"), 10, 64)
		return n
	}
	back := func() string { return r.PostFormValue("back") }
	query := func() string { return r.PostFormValue("q") }
	backURL := func() string { return "/cards?state=" + url.QueryEscape(back()) + "&q=" + url.QueryEscape(query()) }
	var err error
	var notice []string
	action := r.PathValue("action")
	switch action {
	case "approve":
		var c card.Card
		if c, err = s.Cards.Approve(ctx, p, id()); err == nil {
			notice = []string{"flash.card_approved", c.Name}
		}
	case "reject":
		var c card.Card
		if c, err = s.Cards.Reject(ctx, p, id(), r.PostFormValue("reason")); err == nil {
			notice = []string{"flash.card_rejected", c.Name}
		}
	case "collect":
		var c card.Card
		if c, err = s.Cards.Collect(ctx, p, id(), r.PostFormValue("id_number"), r.PostFormValue("card_number")); err == nil {
			notice = []string{"flash.card_collected", c.Name}
		}
	case "pin-reset":
		if r.PostFormValue("pin") != r.PostFormValue("pin2") {
			err = errs.Field("pin2", "the two PINs differ")
			break
		}
		var c card.Card
		if c, err = s.Cards.ResetPIN(ctx, p, id(), r.PostFormValue("id_number"), r.PostFormValue("pin")); err == nil {
			notice = []string{"flash.card_pin_reset", c.Name}
		}
	case "temporary":
		var c card.Card
		if c, err = s.Cards.IssueTemporary(ctx, p, strings.TrimSpace(r.PostFormValue("id_number"))); err == nil {
			notice = []string{"flash.card_temporary", c.CardNumber, c.Name}
		}
	case "replace", "cancel":
		c, gerr := s.Cards.Get(ctx, p, id())
		if gerr != nil {
			err = gerr
			break
		}
		if strings.TrimSpace(r.PostFormValue("reason")) == "" {
			err = errs.Field("reason", "required")
			break
		}
		facts := append(cardFacts(pickLang(r), c), confirmFact{pickLang(r).T("enrol.reason"), r.PostFormValue("reason")})
		if ok, cerr := s.confirmed(w, r, p, "confirm.desk_"+action+".title", "confirm.desk_"+action+".what", "confirm.desk_"+action+".button",
			backURL(), facts); !ok || cerr != nil {
			return cerr
		}
		if action == "cancel" {
			if _, err = s.Cards.Cancel(ctx, p, c.ID, r.PostFormValue("reason")); err == nil {
				notice = []string{"flash.card_cancelled", c.Name}
			}
			break
		}
		var nc card.Card
		if nc, err = s.Cards.Replace(ctx, p, c.ID, r.PostFormValue("reason")); err == nil {
			notice = []string{"flash.card_replaced_for", c.Name, nc.ApplicationNo}
		}
	case "batch":
		if len(p.Regions) == 0 {
			return errs.E(errs.Forbidden, "no region")
		}
		var b card.Batch
		if b, err = s.Cards.CreateBatch(ctx, p, p.Regions[0]); err == nil {
			notice = []string{"flash.batch_created", itoa(int(b.ID)), itoa(b.Cards)}
		}
	case "result":
		var release func()
		if release, err = s.enterUpload(w, r); err != nil {
			back = func() string { return "" } // the form stays unread
			query = back
			break
		}
		defer release()
		var data []byte
		if data, _, err = formFile(r, "file", 20<<20, "choose the manufacturer's result file"); err != nil {
			break
		}
		batch, _ := strconv.ParseInt(r.FormValue("batch"), 10, 64)
		var n int
		if n, err = s.Cards.ImportResult(ctx, p, batch, data); err == nil {
			notice = []string{"flash.batch_result", itoa(int(batch)), itoa(n)}
		}
	case "distribute":
		batch, _ := strconv.ParseInt(r.PostFormValue("batch"), 10, 64)
		outlet := r.PostFormValue("outlet")
		var n int
		if n, err = s.Cards.Distribute(ctx, p, batch, outlet); err == nil {
			notice = []string{"flash.batch_distributed", itoa(n), s.outletName(r, p, outlet)}
		}
	default:
		return errs.E(errs.NotFound, "no such action")
	}
	if err == nil {
		s.setFlash(w, r, notice[0], notice[1:]...)
		http.Redirect(w, r, backURL(), http.StatusSeeOther)
		return nil
	}
	v, verr := s.cardsView(r, p, back(), query())
	if verr != nil {
		return verr
	}
	if e, ok := errs.As(err); ok && len(e.Rows) > 0 {
		v.Problem = e
		return s.render(w, r, statusOf(e.Code), "cards", v)
	}
	return s.formError(w, r, v, "cards", err)
}

// outletName is an outlet's name for a notice, or its code when it is not found.
func (s *Server) outletName(r *http.Request, p *auth.Principal, code string) string {
	os, err := s.Cards.Outlets(r.Context(), p)
	if err == nil {
		for _, o := range os {
			if o.Code == code {
				return o.Name
			}
		}
	}
	return code
}

func (s *Server) batchFile(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	b, err := s.Cards.ManufacturerFile(r.Context(), p, id)
	if err != nil {
		return err
	}
	(&download{ContentType: "text/csv; charset=utf-8", Name: "batch-" + itoa(int(id)) + ".csv", Data: b}).write(w, http.StatusOK)
	return nil
}

// formPhoto reads the photo of a card application form.
func formPhoto(r *http.Request) ([]byte, error) {
	b, _, err := formFile(r, "photo", 10<<20, "choose your photo (JPEG or PNG)")
	return b, err
}

// formFile reads one uploaded file of a portal form, at most max bytes; a missing file is a field
// problem saying what to choose.
func formFile(r *http.Request, field string, max int64, missing string) (data []byte, name string, err error) {
	tooLarge := errs.Field(field, fmt.Sprintf("larger than %d MiB", max>>20))
	if r.MultipartForm == nil {
		// The file and the form's few other fields: nothing bigger is read, not even to disk.
		r.Body = http.MaxBytesReader(nil, r.Body, max+1<<20)
	}
	// The form's other fields are small; the file goes to a temporary file (removed by net/http
	// after the request) and is read from there once, instead of held twice in memory.
	if err := r.ParseMultipartForm(64 << 10); err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return nil, "", tooLarge
		}
		return nil, "", errs.Field(field, "the upload could not be read")
	}
	f, hdr, err := r.FormFile(field)
	if err != nil {
		return nil, "", errs.Field(field, missing)
	}
	defer f.Close()
	b, err := readAllSized(io.LimitReader(f, max+1), hdr.Size, max)
	if err != nil {
		return nil, "", errs.Field(field, "the upload could not be read")
	}
	if int64(len(b)) > max {
		return nil, "", tooLarge
	}
	return b, hdr.Filename, nil
}
