package keys

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/pem"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"

	"github.com/shebao/shebao/internal/apdu"
	"github.com/shebao/shebao/internal/audit"
	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/db/dbtest"
	"github.com/shebao/shebao/internal/errs"
	"github.com/shebao/shebao/internal/policy"
)

const region = "330100"

var ctx = context.Background()

type fixture struct {
	t          testing.TB
	d          *db.DB
	svc        *Service
	components [][]byte
	alice, bob *auth.Principal // custodians holding the components
	carol      *auth.Principal // a third custodian
	admin      *auth.Principal
}

func principal(name string, role auth.Role) *auth.Principal {
	return &auth.Principal{User: auth.User{Username: name, Role: role, Regions: []string{region}}}
}

// newFixture is a production keystore of two components held by alice and bob, sealed, with the
// demo policy (two approvals) in force.
func newFixture(t testing.TB, d *db.DB) *fixture {
	t.Helper()
	pol := policy.NewStore(d)
	p, _, err := policy.Default(region, 202001)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pol.Install(ctx, audit.System, p); err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, d: d, svc: New(d, pol, nil), alice: principal("alice", auth.Custodian), bob: principal("bob", auth.Custodian),
		carol: principal("carol", auth.Custodian), admin: principal("root", auth.Admin)}
	for range 2 {
		c := make([]byte, KeySize)
		rand.Read(c)
		f.components = append(f.components, c)
	}
	if err := f.svc.Init(ctx, audit.System, Production, []string{"alice", "bob"}, f.components); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) unseal() {
	f.t.Helper()
	if _, err := f.svc.EnterComponent(ctx, f.alice, f.components[0]); err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.svc.EnterComponent(ctx, f.bob, f.components[1]); err != nil {
		f.t.Fatal(err)
	}
}

// generate makes the region's first issuer key set through dual control.
func (f *fixture) generate() {
	f.t.Helper()
	r, err := f.svc.Request(ctx, f.admin, NewRequest{Kind: Generate, Region: region})
	if err != nil {
		f.t.Fatal(err)
	}
	for _, p := range []*auth.Principal{f.alice, f.bob} {
		if _, err := f.svc.Approve(ctx, p, r.ID); err != nil {
			f.t.Fatal(err)
		}
	}
}

func cardID(seq byte) [16]byte {
	id, err := apdu.ParseCardID("330100D15600000512345678000000" + hex.EncodeToString([]byte{seq}))
	if err != nil {
		panic(err)
	}
	return id
}

func (f *fixture) card(id [16]byte) *apdu.SoftCard {
	f.t.Helper()
	c, err := f.svc.Personalise(ctx, CardSpec{CardNumber: "B7K334774", CardID: id, IssueDate: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC),
		ExpiryDate: time.Date(2036, 11, 1, 0, 0, 0, 0, time.UTC), PIN: "739164",
		Holder: apdu.HolderData{IDNumber: "11010519491231002X", Name: "王小明", Gender: '2', Ethnicity: 1, BirthDate: time.Date(1949, 12, 31, 0, 0, 0, 0, time.UTC)}})
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

func TestSealedRefusesEveryKeyOperation(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		check := func(stage string) {
			t.Helper()
			if _, err := f.svc.Challenge(ctx); err != ErrSealed {
				t.Errorf("%s: Challenge: %v", stage, err)
			}
			if err := f.svc.Verify(ctx, cardID(1), 1, [16]byte{}, [16]byte{}); err != ErrSealed {
				t.Errorf("%s: Verify: %v", stage, err)
			}
			if _, err := f.svc.ExternalAuth(ctx, cardID(1), 1, [8]byte{}); err != ErrSealed {
				t.Errorf("%s: ExternalAuth: %v", stage, err)
			}
			if err := f.d.Write(ctx, func(tx *db.Tx) error {
				return f.svc.AcceptTransaction(ctx, tx, TransactionProof{CardID: cardID(1), KeyVersion: 1, ATC: 1, Data: testTxData(1)})
			}); err != ErrSealed {
				t.Errorf("%s: AcceptTransaction: %v", stage, err)
			}
			if _, err := f.svc.Personalise(ctx, CardSpec{CardID: cardID(1)}); !errs.Is(err, errs.Unavailable) {
				t.Errorf("%s: Personalise: %v", stage, err)
			}
			if _, _, err := f.svc.Sign(ctx, region, []byte("x")); err != ErrSealed {
				t.Errorf("%s: Sign: %v", stage, err)
			}
			if _, err := f.svc.Request(ctx, f.admin, NewRequest{Kind: Generate, Region: region}); err != ErrSealed {
				t.Errorf("%s: Request: %v", stage, err)
			}
			if _, err := f.svc.Approve(ctx, f.alice, 1); err != ErrSealed {
				t.Errorf("%s: Approve: %v", stage, err)
			}
		}
		check("fresh")
		// A component that is not the holder's, and a non-custodian, are refused.
		if _, err := f.svc.EnterComponent(ctx, f.alice, f.components[1]); !errs.Is(err, errs.Invalid) {
			t.Fatalf("alice enters bob's component: %v", err)
		}
		if _, err := f.svc.EnterComponent(ctx, f.carol, f.components[0]); !errs.Is(err, errs.Forbidden) {
			t.Fatalf("a custodian without a component: %v", err)
		}
		if _, err := f.svc.EnterComponent(ctx, principal("clerk", auth.Clerk), f.components[0]); !errs.Is(err, errs.Forbidden) {
			t.Fatalf("a clerk enters a component: %v", err)
		}
		// One of two components: still sealed.
		st, err := f.svc.EnterComponent(ctx, f.alice, f.components[0])
		if err != nil || !st.Sealed || st.Entered != 1 {
			t.Fatalf("after one component: %+v %v", st, err)
		}
		check("one component of two")
		// Development unsealing never works on a production keystore.
		if err := f.svc.UnsealDevelopment(ctx, []string{"x", "y"}); err == nil {
			t.Fatal("development unseal of a production keystore")
		}
		st, err = f.svc.EnterComponent(ctx, f.bob, f.components[1])
		if err != nil || st.Sealed {
			t.Fatalf("after both components: %+v %v", st, err)
		}
		f.generate()
		if _, err := f.svc.Challenge(ctx); err != nil {
			t.Fatalf("unsealed Challenge: %v", err)
		}
		if _, _, err := f.svc.Sign(ctx, region, []byte("x")); err != nil {
			t.Fatalf("unsealed Sign: %v", err)
		}
		// Sealing again forgets everything.
		if err := f.svc.SealBy(ctx, f.alice); err != nil {
			t.Fatal(err)
		}
		check("sealed again")
	})
}

func TestDualControl(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		f.unseal()
		r, err := f.svc.Request(ctx, f.alice, NewRequest{Kind: Generate, Region: region})
		if err != nil || r.ApprovalsRequired != 2 {
			t.Fatalf("request: %+v %v", r, err)
		}
		if _, err := f.svc.Approve(ctx, f.alice, r.ID); !errs.Is(err, errs.Forbidden) {
			t.Fatalf("the requester approves: %v", err)
		}
		if r, err = f.svc.Approve(ctx, f.bob, r.ID); err != nil || r.Status != "pending" || len(r.Approvals) != 1 {
			t.Fatalf("first approval: %+v %v", r, err)
		}
		if _, err := f.svc.Approve(ctx, f.bob, r.ID); !errs.Is(err, errs.Conflict) {
			t.Fatalf("the same custodian twice: %v", err)
		}
		if ks, _ := f.svc.List(ctx, region); len(ks) != 0 {
			t.Fatalf("keys exist before enough approvals: %d", len(ks))
		}
		if _, err := f.svc.Approve(ctx, principal("dave", auth.Clerk), r.ID); !errs.Is(err, errs.Forbidden) {
			t.Fatalf("a clerk approves: %v", err)
		}
		if r, err = f.svc.Approve(ctx, f.carol, r.ID); err != nil || r.Status != "done" || r.Result != "1" {
			t.Fatalf("second approval: %+v %v", r, err)
		}
		ks, _ := f.svc.List(ctx, region)
		if len(ks) != 1+len(IssuerPurposes) {
			t.Fatalf("%d keys; want a KEK and %d issuer keys", len(ks), len(IssuerPurposes))
		}
		// A card issued under version 1 still authenticates after a rotation.
		old := f.card(cardID(1))
		rot, _ := f.svc.Request(ctx, f.admin, NewRequest{Kind: Rotate, Region: region})
		f.svc.Approve(ctx, f.alice, rot.ID)
		if rot, err = f.svc.Approve(ctx, f.bob, rot.ID); err != nil || rot.Result != "2" {
			t.Fatalf("rotate: %+v %v", rot, err)
		}
		term := &apdu.Terminal{Card: old}
		if err := term.Authenticate(ctx, f.svc); err != nil {
			t.Fatalf("a version-1 card after rotation: %v", err)
		}
		fresh := f.card(cardID(2))
		info, err := (&apdu.Terminal{Card: fresh}).ReadIssuerData(ctx)
		if err != nil || info.KeyVersion != 2 {
			t.Fatalf("a new card has key version %d, %v; want 2", info.KeyVersion, err)
		}
		// Purposes guard their keys.
		if _, _, err := f.svc.block(ctx, region, Signing, 0, OpDiversify); !errs.Is(err, errs.Forbidden) {
			t.Fatalf("diversifying with the signing key: %v", err)
		}
		if _, _, err := f.svc.signer(ctx, region, 0); err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.svc.issuerKey(ctx, d.R(), region, InternalAuth, 0, OpSign); !errs.Is(err, errs.Forbidden) {
			t.Fatalf("signing with an authentication key: %v", err)
		}
		if _, err := audit.Verify(ctx, d, nil); err != nil {
			t.Fatal(err)
		}
	})
}

func TestExportAndDestroy(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		f := newFixture(t, d)
		f.unseal()
		f.generate()
		maker, err := sm2.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		der, _ := smx509.MarshalPKIXPublicKey(&maker.PublicKey)
		pemKey := string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
		if _, err := f.svc.Request(ctx, f.admin, NewRequest{Kind: Export, Region: region, Purpose: CardMaster, Version: 1, Recipient: "junk"}); !errs.Is(err, errs.Invalid) {
			t.Fatalf("export to junk: %v", err)
		}
		r, err := f.svc.Request(ctx, f.admin, NewRequest{Kind: Export, Region: region, Purpose: CardMaster, Version: 1, Recipient: pemKey})
		if err != nil {
			t.Fatal(err)
		}
		f.svc.Approve(ctx, f.alice, r.ID)
		r, err = f.svc.Approve(ctx, f.bob, r.ID)
		if err != nil || r.Status != "done" {
			t.Fatalf("export: %+v %v", r, err)
		}
		ct, _ := hex.DecodeString(r.Result)
		plain, err := sm2.Decrypt(maker, ct)
		if err != nil {
			t.Fatalf("the manufacturer cannot decrypt: %v", err)
		}
		kcv, _ := KCV(plain)
		ks, _ := f.svc.List(ctx, region)
		found := false
		for _, k := range ks {
			if k.Purpose == CardMaster && k.Version == 1 && k.KCV == kcv {
				found = true
			}
		}
		if !found {
			t.Fatal("the exported key's KCV matches no card master key")
		}
		// Destroying the signing key erases it; signing then fails.
		r, _ = f.svc.Request(ctx, f.admin, NewRequest{Kind: Destroy, Region: region, Purpose: Signing, Version: 1})
		f.svc.Approve(ctx, f.alice, r.ID)
		if _, err := f.svc.Approve(ctx, f.bob, r.ID); err != nil {
			t.Fatal(err)
		}
		if _, _, err := f.svc.Sign(ctx, region, []byte("x")); err == nil {
			t.Fatal("signed with a destroyed key")
		}
	})
}

func TestSignatures(t *testing.T) {
	f := newFixture(t, dbtest.SQLite(t, dbtest.Options{}))
	f.unseal()
	f.generate()
	msg := []byte("参保证明 11010519491231002X 202601-202611")
	sig, v, err := f.svc.Sign(ctx, region, msg)
	if err != nil || v != 1 {
		t.Fatalf("sign: %v %v", v, err)
	}
	f.svc.Seal(ctx) // verification needs only the public key
	pub, pv, err := f.svc.PublicKeyPEM(ctx, region, 0)
	if err != nil || pv != 1 || !strings.Contains(pub, "PUBLIC KEY") {
		t.Fatalf("public key: %v %v", pv, err)
	}
	if err := Verify(pub, msg, sig); err != nil {
		t.Fatalf("verify: %v", err)
	}
	changed := bytes.Replace(msg, []byte("202611"), []byte("202612"), 1)
	if err := Verify(pub, changed, sig); err == nil {
		t.Fatal("a changed message verified")
	}
}
