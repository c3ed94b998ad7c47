package web

import (
	"net/http"
	"slices"

	"github.com/shebao/shebao/internal/auth"
)

// Actions that cannot be undone (a formal loss report, cancelling or replacing a card, sealing
// the key service) take two steps, without any script (the pages' Content-Security-Policy allows
// none inline): the first press of the button only shows what will happen, with the form's fields
// carried along; the second, on that page, with its box ticked, does it. The capability checks
// everything again on the second press, so the first one decides nothing.

// confirmField is one field of the original form, carried to the confirmation.
type confirmField struct {
	Name, Value string
}

// confirmFact is one line of what the action concerns (the card, its holder).
type confirmFact struct {
	Label, Value string
}

// confirmPage is the confirmation step of an irreversible action.
type confirmPage struct {
	Action string // where the form posts
	Fields []confirmField
	What   string // what will happen, in the reader's language
	Facts  []confirmFact
	Button string
	Back   string // where "cancel" leads
}

// confirmedValue is what the confirmation's box sends.
const confirmedValue = "yes"

// confirmed reports whether this press of an irreversible action's button comes from its
// confirmation page. When it does not, it renders that page (what, facts, the button's label are
// message keys and values already in the reader's language) and the caller returns.
func (s *Server) confirmed(w http.ResponseWriter, r *http.Request, p *auth.Principal, titleKey, whatKey, buttonKey, back string, facts []confirmFact) (bool, error) {
	if r.PostFormValue("confirm") == confirmedValue {
		return true, nil
	}
	data := &confirmPage{Action: r.URL.Path, Back: back, Facts: facts}
	v := s.view(r, p, titleKey, data)
	data.What, data.Button = v.T(whatKey), v.T(buttonKey)
	names := make([]string, 0, len(r.PostForm))
	for name := range r.PostForm {
		if name != "confirm" {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		for _, value := range r.PostForm[name] {
			data.Fields = append(data.Fields, confirmField{Name: name, Value: value})
		}
	}
	return false, s.render(w, r, http.StatusOK, "confirm", v)
}
