package web

import (
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"strconv"
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
	switch r.PathValue("action") {
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
		if r.PathValue("action") == "apply" {
			me, merr := s.Registry.Me(ctx, p)
			if merr != nil {
				return merr
			}
			c, aerr := s.Cards.Apply(ctx, p, string(me.IDNumber))
			if aerr != nil {
				err = aerr
				break
			}
			_, err = s.Cards.SetPhoto(ctx, p, c.ID, photo)
			break
		}
		_, err = s.Cards.SetPhoto(ctx, p, id(), photo)
	case "activate":
		if r.PostFormValue("pin") != r.PostFormValue("pin2") {
			err = errs.Field("pin2", "the two PINs differ")
		} else {
			_, err = s.Cards.Activate(ctx, p, id(), r.PostFormValue("pin"))
		}
	case "temporary-loss":
		_, err = s.Cards.ReportTemporaryLoss(ctx, p, id())
	case "unlock":
		_, err = s.Cards.Unlock(ctx, p, id())
	case "loss":
		_, err = s.Cards.ReportLoss(ctx, p, id())
	case "replace":
		_, err = s.Cards.Replace(ctx, p, id(), r.PostFormValue("reason"))
	case "ecard":
		_, err = s.Cards.SignUpECard(ctx, p)
	default:
		return errs.E(errs.NotFound, "no such action")
	}
	if err == nil {
		target := "/card"
		if r.PathValue("action") == "ecard" {
			target = "/card?qr=1"
		}
		http.Redirect(w, r, target, http.StatusSeeOther)
		return nil
	}
	v, verr := s.myCardView(r, p, false)
	if verr != nil {
		return verr
	}
	return s.formError(w, r, v, "mycard", err)
}

// cardsPage is the bureau's card desk: applications to decide, cards to hand out, batches.
type cardsPage struct {
	State      string
	States     []card.State
	Cards      []card.Card
	Outlets    []card.Outlet
	Batches    []card.Batch
	CanReview  bool
	CanHandOut bool
	CanProduce bool
	Approved   int
}

func (s *Server) cardsView(r *http.Request, p *auth.Principal, state string) (*View, error) {
	ctx := r.Context()
	data := cardsPage{State: state, States: card.States, CanReview: p.Can(auth.ReviewCard), CanHandOut: p.Can(auth.HandOutCard),
		CanProduce: p.Can(auth.ProduceCards)}
	var err error
	if data.Cards, err = s.Cards.List(ctx, p, card.State(state), 200); err != nil {
		return nil, err
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
	return s.view(r, p, "cards.title", &data), nil
}

func (s *Server) cardsPage(w http.ResponseWriter, r *http.Request, p *auth.Principal) error {
	v, err := s.cardsView(r, p, r.URL.Query().Get("state"))
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, "cards", v)
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
	var err error
	switch r.PathValue("action") {
	case "approve":
		_, err = s.Cards.Approve(ctx, p, id())
	case "reject":
		_, err = s.Cards.Reject(ctx, p, id(), r.PostFormValue("reason"))
	case "collect":
		_, err = s.Cards.Collect(ctx, p, id(), r.PostFormValue("id_number"), r.PostFormValue("card_number"))
	case "batch":
		if len(p.Regions) == 0 {
			return errs.E(errs.Forbidden, "no region")
		}
		_, err = s.Cards.CreateBatch(ctx, p, p.Regions[0])
	case "result":
		var release func()
		if release, err = s.enterUpload(w, r); err != nil {
			back = func() string { return "" } // the form stays unread
			break
		}
		defer release()
		var data []byte
		if data, _, err = formFile(r, "file", 20<<20, "choose the manufacturer's result file"); err != nil {
			break
		}
		batch, _ := strconv.ParseInt(r.FormValue("batch"), 10, 64)
		_, err = s.Cards.ImportResult(ctx, p, batch, data)
	case "distribute":
		batch, _ := strconv.ParseInt(r.PostFormValue("batch"), 10, 64)
		_, err = s.Cards.Distribute(ctx, p, batch, r.PostFormValue("outlet"))
	default:
		return errs.E(errs.NotFound, "no such action")
	}
	if err == nil {
		http.Redirect(w, r, "/cards?state="+back(), http.StatusSeeOther)
		return nil
	}
	v, verr := s.cardsView(r, p, back())
	if verr != nil {
		return verr
	}
	if e, ok := errs.As(err); ok && len(e.Rows) > 0 {
		v.Problem = e
		return s.render(w, r, statusOf(e.Code), "cards", v)
	}
	return s.formError(w, r, v, "cards", err)
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
