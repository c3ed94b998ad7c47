package web

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/card"
)

// cardAt makes a card for a new member of staff (or for idNumber, when given) and drives it through
// the services to state: applied, approved, in_production, produced, at_outlet, collected, active,
// or temporarily_lost. It returns the card.
func (e *testEnv) cardAt(state card.State, idNumber string) card.Card {
	e.t.Helper()
	ctx := context.Background()
	if idNumber == "" {
		idNumber = e.addStaff()
	}
	clerk, officer, reviewer := e.principal(auth.Clerk), e.principal(auth.CardOfficer), e.principal(auth.Reviewer)
	must := func(c card.Card, err error) card.Card {
		e.t.Helper()
		if err != nil {
			e.t.Fatal(err)
		}
		return c
	}
	c := must(e.cards.Apply(ctx, clerk, idNumber))
	c = must(e.cards.SetPhoto(ctx, clerk, c.ID, testPNG))
	order := []card.State{card.Applied, card.Approved, card.InProduction, card.Produced, card.AtOutlet, card.Collected, card.Active, card.TemporarilyLost}
	for _, next := range order[1:] {
		if c.State == state {
			return c
		}
		switch next {
		case card.Approved:
			c = must(e.cards.Approve(ctx, reviewer, c.ID)) // a second person: the clerk applied and gave the photo
		case card.InProduction:
			if _, err := e.cards.CreateBatch(ctx, officer, testRegion); err != nil {
				e.t.Fatal(err)
			}
			c = must(e.cards.Get(ctx, clerk, c.ID))
		case card.Produced:
			if _, err := e.cards.ImportResult(ctx, officer, c.BatchID, []byte(e.resultFor(c.BatchID))); err != nil {
				e.t.Fatal(err)
			}
			c = must(e.cards.Get(ctx, clerk, c.ID))
		case card.AtOutlet:
			if _, err := e.cards.Distribute(ctx, officer, c.BatchID, "XH-01"); err != nil {
				e.t.Fatal(err)
			}
			c = must(e.cards.Get(ctx, clerk, c.ID))
		case card.Collected:
			c = must(e.cards.Collect(ctx, clerk, c.ID, idNumber, c.CardNumber))
		case card.Active:
			c = must(e.cards.Activate(ctx, clerk, c.ID, "482916"))
		case card.TemporarilyLost:
			c = must(e.cards.ReportTemporaryLoss(ctx, clerk, c.ID))
		}
	}
	if c.State != state {
		e.t.Fatalf("card is %s; wanted %s", c.State, state)
	}
	return c
}

// activateOwn takes the resident's own card (applying if there is none) to active and signs up for
// the electronic card.
func (e *testEnv) activateOwn() card.Card {
	e.t.Helper()
	ctx := context.Background()
	me := e.principal(auth.Resident)
	cs, _ := e.cards.Mine(ctx, me)
	for _, c := range cs {
		if c.State == card.Active {
			return c
		}
		if c.State == card.Applied {
			e.cards.Cancel(ctx, e.principal(auth.Clerk), c.ID, "test")
		}
	}
	c := e.cardAt(card.Active, e.personID)
	if _, err := e.cards.SignUpECard(ctx, me); err != nil {
		e.t.Fatal(err)
	}
	return c
}

// medicalCard issues and activates a medical insurance card for a new member of staff.
func (e *testEnv) medicalCard() string {
	e.t.Helper()
	ctx := context.Background()
	bank := e.principal(auth.Bank)
	number := fmt.Sprintf("62148300%08d", e.seq.Add(1))
	if _, err := e.cards.IssueMedical(ctx, bank, e.addStaff(), number); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.cards.ChangeMedical(ctx, bank, number, "activate"); err != nil {
		e.t.Fatal(err)
	}
	return number
}

// resultFor makes the manufacturer's result file for every card of a batch.
func (e *testEnv) resultFor(batchID int64) string {
	e.t.Helper()
	file, err := e.cards.ManufacturerFile(context.Background(), e.principal(auth.CardOfficer), batchID)
	if err != nil {
		e.t.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(file)).ReadAll()
	if err != nil {
		e.t.Fatal(err)
	}
	out := "application_no,card_number,chip_serial,atr\n"
	for i, r := range recs[1:] {
		out += fmt.Sprintf("%s,%s,AD93%04X,3B6C00\n", r[0], r[1], i)
	}
	return out
}

// testPNG is a tiny picture for card photos.
var testPNG = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01")
