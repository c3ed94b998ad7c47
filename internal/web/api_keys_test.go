package web

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/shebao/shebao/internal/apdu"
	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/db/dbtest"
	"github.com/shebao/shebao/internal/keys"
)

// apiAuthenticator is a hospital terminal's view of the key service: the HTTP API.
type apiAuthenticator struct {
	e       *testEnv
	tamper  bool
	lastReq string
}

func (a *apiAuthenticator) Challenge(context.Context) ([16]byte, error) {
	status, body := a.e.do(auth.Institution, "POST", "/api/v1/cards/auth/challenge", "")
	var out struct{ Challenge string }
	if status != 200 || json.Unmarshal([]byte(body), &out) != nil {
		return [16]byte{}, fmt.Errorf("challenge: %d %s", status, body)
	}
	var ch [16]byte
	b, _ := hex.DecodeString(out.Challenge)
	copy(ch[:], b)
	return ch, nil
}

func (a *apiAuthenticator) Verify(_ context.Context, id [16]byte, v byte, ch, ans [16]byte) error {
	if a.tamper {
		ans[15] ^= 0x80
	}
	a.lastReq = fmt.Sprintf(`{"card_id":"%s","key_version":%d,"challenge":"%X","answer":"%X"}`, apdu.FormatCardID(id), v, ch, ans)
	return a.send(a.lastReq)
}

func (a *apiAuthenticator) send(req string) error {
	status, body := a.e.do(auth.Institution, "POST", "/api/v1/cards/auth/verify", req)
	if status != 200 {
		return fmt.Errorf("verify: %d %s", status, body)
	}
	if !strings.Contains(body, `"genuine":true`) {
		return errNotGenuine
	}
	return nil
}

var errNotGenuine = fmt.Errorf("not genuine")

func TestCardAuthenticationThroughAPI(t *testing.T) {
	e := newTestEnv(t, dbtest.SQLite(t, dbtest.Options{}))
	id, _ := apdu.ParseCardID("330100D156000005AD932A4800000001")
	card, err := e.keys.Personalise(context.Background(), keys.CardSpec{CardNumber: "X00000019", CardID: id, PIN: "246810",
		IssueDate: dbtest.Now(), ExpiryDate: dbtest.Now().AddDate(10, 0, 0),
		Holder: apdu.HolderData{IDNumber: e.personID, Name: "测试职工", Gender: '1', Ethnicity: 1, BirthDate: time.Date(1985, 1, 1, 0, 0, 0, 0, time.UTC)}})
	if err != nil {
		t.Fatal(err)
	}
	term := &apdu.Terminal{Card: card}
	a := &apiAuthenticator{e: e}
	if err := term.Authenticate(context.Background(), a); err != nil {
		t.Fatalf("genuine card through the API: %v", err)
	}
	if err := a.send(a.lastReq); err != errNotGenuine {
		t.Fatalf("replayed answer through the API: %v", err)
	}
	if err := term.Authenticate(context.Background(), &apiAuthenticator{e: e, tamper: true}); err == nil {
		t.Fatal("tampered answer accepted through the API")
	}
	// A card with the same identity made under another issuer key (another keystore).
	other := newTestEnv(t, dbtest.SQLite(t, dbtest.Options{}))
	forged, err := other.keys.Personalise(context.Background(), keys.CardSpec{CardNumber: "X00000019", CardID: id, PIN: "246810",
		IssueDate: dbtest.Now(), ExpiryDate: dbtest.Now().AddDate(10, 0, 0),
		Holder: apdu.HolderData{IDNumber: e.personID, Name: "测试职工", Gender: '1', Ethnicity: 1, BirthDate: time.Date(1985, 1, 1, 0, 0, 0, 0, time.UTC)}})
	if err != nil {
		t.Fatal(err)
	}
	if err := (&apdu.Terminal{Card: forged}).Authenticate(context.Background(), &apiAuthenticator{e: e}); err == nil {
		t.Fatal("a card under another issuer key authenticated through the API")
	}
	status, body := e.do(auth.Institution, "POST", "/api/v1/cards/auth/verify", `{"card_id":"zz","key_version":0,"challenge":"","answer":"1"}`)
	if f := errorOf(t, body).Fields; status != 422 || f["card_id"] == "" || f["key_version"] == "" || f["challenge"] == "" || f["answer"] == "" {
		t.Fatalf("bad verify request: %d %s", status, body)
	}
	// The signing key is public; its PEM is all a verifier needs.
	status, body = e.do("", "GET", "/api/v1/regions/"+testRegion+"/signing-key.pem", "")
	if status != 200 || !strings.Contains(body, "BEGIN PUBLIC KEY") {
		t.Fatalf("signing key: %d %s", status, body)
	}
	// Sealed: the API answers 503 with the sealed message.
	e.keys.Seal(context.Background())
	status, body = e.do(auth.Institution, "POST", "/api/v1/cards/auth/challenge", "")
	if status != 503 || !strings.Contains(errorOf(t, body).Message, "sealed") {
		t.Fatalf("sealed challenge: %d %s", status, body)
	}
	// Key answers never carry key material: only metadata and check values.
	e.keys.UnsealDevelopment(context.Background(), nil)
	status, body = e.do(auth.Custodian, "GET", "/api/v1/keys", "")
	if status != 200 || strings.Contains(body, "wrapped") || !strings.Contains(body, `"kcv"`) {
		t.Fatalf("key list: %d %s", status, body)
	}
}

// TestSealAndUnsealOverTheAPI: a custodian seals the key service, and the two custodians unseal
// it again by entering their components, each answered with the service's status; a component
// that is not the caller's is refused naming it.
func TestSealAndUnsealOverTheAPI(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		var comps [][]byte
		for range 2 {
			c, _, err := keys.NewComponent()
			if err != nil {
				t.Fatal(err)
			}
			b, err := keys.ParseComponent(c)
			if err != nil {
				t.Fatal(err)
			}
			comps = append(comps, b)
		}
		e := newTestEnvKeys(t, d, comps)
		second, err := e.auth.IssueToken(context.Background(), nil, audit.System, "u-custodian-2", "test")
		if err != nil {
			t.Fatal(err)
		}
		status := func(body string) (st struct {
			Sealed  bool `json:"sealed"`
			Entered int  `json:"components_entered"`
		}) {
			if err := json.Unmarshal([]byte(body), &st); err != nil {
				t.Fatalf("not a key status: %s", body)
			}
			return st
		}
		if code, body := e.do(auth.Custodian, "POST", "/api/v1/keys/seal", ""); code != 200 || !status(body).Sealed {
			t.Fatalf("seal: %d %s", code, body)
		}
		hexOf := func(b []byte) string { return strings.ToUpper(hex.EncodeToString(b)) }
		if code, body := e.do(auth.Custodian, "POST", "/api/v1/keys/unseal", `{"component":"`+hexOf(comps[1])+`"}`); code != 422 || errorOf(t, body).Fields["component"] == "" {
			t.Errorf("another custodian's component: %d %s; want 422 naming component", code, body)
		}
		if code, body := e.do(auth.Custodian, "POST", "/api/v1/keys/unseal", `{"component":"`+hexOf(comps[0])+`"}`); code != 200 || !status(body).Sealed || status(body).Entered != 1 {
			t.Fatalf("the first component: %d %s; want 200, still sealed, one entered", code, body)
		}
		code, body, _ := e.send(second, "POST", "/api/v1/keys/unseal", `{"component":"`+hexOf(comps[1])+`"}`)
		if code != 200 || status(body).Sealed {
			t.Fatalf("the second component: %d %s; want 200 and unsealed", code, body)
		}
	})
}
