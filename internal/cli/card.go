package cli

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/shebao/shebao/internal/apdu"
	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/config"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/ident"
	"github.com/shebao/shebao/internal/keys"
	"github.com/shebao/shebao/internal/period"
	"github.com/shebao/shebao/internal/policy"
)

// runCard: `shebao card sim …` personalises and talks to software cards kept in files. Commands
// that need keys (personalise, reading holder data) run their own key service in this process:
// a development keystore unseals itself; a production one asks each custodian for their component
// on standard input.
func runCard(ctx context.Context, io IO, args []string) error {
	usage := fmt.Errorf("%w: shebao card sim personalise|issue|inspect|verify-pin|change-pin|apdu FILE …", errUsage)
	if len(args) < 2 || args[0] != "sim" {
		return usage
	}
	switch args[1] {
	case "personalise", "personalize":
		return simPersonalise(ctx, io, args[2:])
	case "inspect":
		return simInspect(ctx, io, args[2:])
	case "issue":
		return simIssue(ctx, io, args[2:])
	case "verify-pin", "change-pin", "apdu":
		return simTalk(ctx, io, args[1], args[2:])
	}
	return usage
}

// localKeys opens the database's key service and unseals it in this process.
func localKeys(ctx context.Context, io IO, d *db.DB) (*keys.Service, error) {
	svc := keys.New(d, policy.NewStore(d), nil)
	st, err := svc.Status(ctx)
	if err != nil {
		return nil, err
	}
	switch {
	case !st.Initialised:
		return nil, errors.New("the keystore is not initialised (shebao keys init, or serve --demo for a development one)")
	case st.Mode == keys.Development:
		fmt.Fprintln(io.Err, "warning: development keystore; its keys are public")
		return svc, svc.UnsealDevelopment(ctx, nil)
	}
	in := bufio.NewReader(io.In)
	for _, name := range st.Custodians {
		fmt.Fprintf(io.Err, "%s: enter your component: ", name)
		line, err := in.ReadString('\n')
		if err != nil && line == "" {
			return nil, fmt.Errorf("reading %s's component: %w", name, err)
		}
		c, err := keys.ParseComponent(line)
		if err != nil {
			return nil, err
		}
		p := &auth.Principal{User: auth.User{Username: name, Role: auth.Custodian, Roles: []auth.Role{auth.Custodian}}}
		_, err = svc.EnterComponent(ctx, p, c)
		clear(c)
		if err != nil {
			return nil, err
		}
	}
	return svc, nil
}

func simPersonalise(ctx context.Context, io IO, args []string) error {
	fs := newFlags("card sim personalise", io)
	var c config.DB
	config.RegisterDB(fs, io.Env, &c)
	out := fs.String("out", "", "file to write the card to")
	number := fs.String("card-number", "", "the 9-character card number (8 characters and a check character)")
	idNumber := fs.String("id-number", "", "the holder's ID number")
	name := fs.String("name", "", "the holder's name")
	region := fs.String("region", "330100", "the issuing region")
	pin := fs.String("pin", "123456", "the initial PIN, 6 digits")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *out == "" {
		return fmt.Errorf("%w: --out FILE is required", errUsage)
	}
	cn, err := ident.ParseCardNumber(*number)
	if err != nil {
		return fmt.Errorf("--card-number: %w", err)
	}
	d, err := openDB(ctx, c)
	if err != nil {
		return err
	}
	defer d.Close()
	now := d.Now()
	n, err := ident.ParseIDNumber(*idNumber, period.Today(now))
	if err != nil {
		return fmt.Errorf("--id-number: %w", err)
	}
	svc, err := localKeys(ctx, io, d)
	if err != nil {
		return err
	}
	defer svc.Seal(ctx)
	var serial [4]byte
	var seq [4]byte
	_, _ = rand.Read(serial[:])
	_, _ = rand.Read(seq[:])
	cardID, err := apdu.ParseCardID(*region + "D156000005" + strings.ToUpper(hex.EncodeToString(serial[:])+hex.EncodeToString(seq[:])))
	if err != nil {
		return fmt.Errorf("--region: %w", err)
	}
	gender := byte('1')
	if n.Gender() == ident.Female {
		gender = '2'
	}
	card, err := svc.Personalise(ctx, keys.CardSpec{CardNumber: string(cn), CardID: cardID, ChipSerial: serial, IssueDate: now,
		ExpiryDate: now.AddDate(10, 0, 0), PIN: *pin,
		Holder: apdu.HolderData{IDNumber: string(n), Name: *name, Gender: gender, Ethnicity: 1, BirthDate: n.BirthDate()}})
	if err != nil {
		return err
	}
	if err := saveCard(*out, card); err != nil {
		return err
	}
	fmt.Fprintf(io.Out, "card %s (identification code %s) written to %s\n", cn, apdu.FormatCardID(cardID), *out)
	return nil
}

func loadCard(path string) (*apdu.SoftCard, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return apdu.LoadSoftCard(bytes.NewReader(b))
}

// saveCard writes the card through a temporary file, so a crash never leaves half a card.
func saveCard(path string, card *apdu.SoftCard) error {
	var b bytes.Buffer
	if err := card.Save(&b); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b.Bytes(), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

func simInspect(ctx context.Context, io IO, args []string) error {
	fs := newFlags("card sim inspect", io)
	var c config.DB
	config.RegisterDB(fs, io.Env, &c)
	holder := fs.Bool("holder", false, "also read the holder data (EF06), which needs the key service's external authentication")
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 {
		return fmt.Errorf("%w: shebao card sim inspect [--holder] FILE", errUsage)
	}
	card, err := loadCard(fs.Arg(0))
	if err != nil {
		return err
	}
	term := &apdu.Terminal{Card: card}
	info, err := term.ReadIssuerData(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(io.Out, "ATR                 %X\ncard number         %s\nidentification code %s\nspecification       %s\nissued              %s\nexpires             %s\nkey version         %d\n",
		card.ATR(), info.CardNumber, apdu.FormatCardID(info.CardID), info.Version, info.IssueDate.Format("2006-01-02"),
		info.ExpiryDate.Format("2006-01-02"), info.KeyVersion)
	if !*holder {
		return nil
	}
	d, err := openDB(ctx, c)
	if err != nil {
		return err
	}
	defer d.Close()
	svc, err := localKeys(ctx, io, d)
	if err != nil {
		return err
	}
	defer svc.Seal(ctx)
	h, err := term.ReadHolderData(ctx, svc)
	if err != nil {
		return err
	}
	fmt.Fprintf(io.Out, "holder              %s %s (gender %c, born %s)\n", h.Name, h.IDNumber, h.Gender, h.BirthDate.Format("2006-01-02"))
	return nil
}

func simTalk(ctx context.Context, io IO, cmd string, args []string) error {
	if len(args) < 2 {
		return fmt.Errorf("%w: shebao card sim %s FILE …", errUsage, cmd)
	}
	path := args[0]
	card, err := loadCard(path)
	if err != nil {
		return err
	}
	term := &apdu.Terminal{Card: card}
	switch cmd {
	case "verify-pin":
		err = term.VerifyPIN(ctx, args[1])
	case "change-pin":
		if len(args) != 3 {
			return fmt.Errorf("%w: shebao card sim change-pin FILE OLD NEW", errUsage)
		}
		err = term.ChangePIN(ctx, args[1], args[2])
	case "apdu":
		for _, h := range args[1:] {
			b, herr := hex.DecodeString(strings.ReplaceAll(h, " ", ""))
			if herr != nil {
				return fmt.Errorf("%q is not hexadecimal", h)
			}
			resp, terr := card.Transmit(ctx, b)
			if terr != nil {
				return terr
			}
			fmt.Fprintf(io.Out, "> %X\n< %X\n", b, resp)
		}
	}
	// The card remembers what happened (tries left, a changed PIN), as a chip does.
	if serr := saveCard(path, card); serr != nil {
		return serr
	}
	if err != nil {
		return err
	}
	if cmd != "apdu" {
		fmt.Fprintln(io.Out, "ok")
	}
	return nil
}

// simIssue writes the software card of a produced card record: shebao as its own card maker. The
// card carries the record's card number and identification code, its holder's data and keys
// diversified from the region's issuer keys, and an initial PIN the holder changes at activation.
// The file holds the card's keys, as a chip does: it is handed to the holder, never stored.
func simIssue(ctx context.Context, io IO, args []string) error {
	fs := newFlags("card sim issue", io)
	var c config.DB
	config.RegisterDB(fs, io.Env, &c)
	app := fs.String("application-no", "", "the card's application number")
	out := fs.String("out", "", "file to write the card to")
	pin := fs.String("pin", "000000", "the initial PIN the holder changes")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *app == "" || *out == "" {
		return fmt.Errorf("%w: --application-no and --out are required", errUsage)
	}
	d, err := openDB(ctx, c)
	if err != nil {
		return err
	}
	defer d.Close()
	var number, cardIDHex, serial, idn, name, issued, valid string
	err = d.R().QueryRowContext(ctx, `SELECT COALESCE(c.card_number, ''), COALESCE(c.card_id, ''), c.chip_serial, p.id_number, p.name, c.state_at, c.valid_until
		FROM cards c JOIN persons p ON p.id = c.person_id WHERE c.application_no = $1 AND c.state IN ('produced', 'at_outlet', 'collected', 'active')`,
		*app).Scan(&number, &cardIDHex, &serial, &idn, &name, &issued, &valid)
	if err != nil {
		return fmt.Errorf("no produced card with application number %s", *app)
	}
	cardID, err := apdu.ParseCardID(cardIDHex)
	if err != nil {
		return err
	}
	var chip [4]byte
	if b, err := hex.DecodeString(serial); err == nil && len(b) == 4 {
		copy(chip[:], b)
	}
	n := ident.IDNumber(idn)
	svc, err := localKeys(ctx, io, d)
	if err != nil {
		return err
	}
	defer svc.Seal(ctx)
	issueDate, _ := db.ParseTime(issued)
	expiry, _ := db.ParseTime(valid)
	gender := byte('1')
	if n.Gender() == ident.Female {
		gender = '2'
	}
	card, err := svc.Personalise(ctx, keys.CardSpec{CardNumber: number, CardID: cardID, ChipSerial: chip, IssueDate: issueDate, ExpiryDate: expiry,
		PIN: *pin, Holder: apdu.HolderData{IDNumber: idn, Name: name, Gender: gender, Ethnicity: 1, BirthDate: n.BirthDate()}})
	if err != nil {
		return err
	}
	if err := saveCard(*out, card); err != nil {
		return err
	}
	fmt.Fprintf(io.Out, "card %s of application %s written to %s\n", number, *app, *out)
	return nil
}
