package web

import (
	"bytes"
	"context"
	"crypto/cipher"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm3"
	"github.com/emmansun/gmsm/sm4"

	"github.com/shebao/shebao/internal/apdu"
	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/db/dbtest"
	"github.com/shebao/shebao/internal/keys"
)

// TestNoPlaintextKeyInDatabaseLogsOrAnswers runs the key scenario through the API and the portal's
// server, then recovers every key from the development keystore independently — its master key is
// public by design — and scans the database, the server log and every API answer for them.
func TestNoPlaintextKeyInDatabaseLogsOrAnswers(t *testing.T) {
	d := dbtest.SQLite(t, dbtest.Options{})
	e := newTestEnv(t, d)
	ctx := context.Background()
	// The scenario: rotation by dual control over the API, card personalisation and authentication
	// through the API, key listings and status.
	status, body := e.do(auth.Admin, "POST", "/api/v1/keys/requests", `{"kind":"rotate","region":"`+testRegion+`"}`)
	if status != 201 {
		t.Fatal(body)
	}
	var id int
	fmt.Sscanf(body[strings.Index(body, `"id":`)+5:], "%d", &id)
	e.do(auth.Custodian, "POST", fmt.Sprintf("/api/v1/keys/requests/%d/approve", id), "")
	second, _ := e.auth.UserByName(ctx, "u-custodian-2")
	if _, err := e.keys.Approve(ctx, &auth.Principal{User: second}, int64(id)); err != nil {
		t.Fatal(err)
	}
	cardID, _ := apdu.ParseCardID("330100D156000005AD932A4800000042")
	card, err := e.keys.Personalise(ctx, keys.CardSpec{CardNumber: "188347080", CardID: cardID, PIN: "135790", IssueDate: dbtest.Now(),
		ExpiryDate: dbtest.Now().AddDate(10, 0, 0), Holder: apdu.HolderData{IDNumber: e.personID, Name: "测试", Gender: '1', Ethnicity: 1,
			BirthDate: time.Date(1985, 1, 1, 0, 0, 0, 0, time.UTC)}})
	if err != nil {
		t.Fatal(err)
	}
	if err := (&apdu.Terminal{Card: card}).Authenticate(ctx, &apiAuthenticator{e: e}); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/api/v1/keys", "/api/v1/keys/status", "/api/v1/keys/requests", "/api/v1/audit/entries?limit=1000"} {
		role := auth.Custodian
		if strings.Contains(path, "audit") {
			role = auth.Auditor
		}
		e.do(role, "GET", path, "")
	}
	e.do("", "GET", "/api/v1/regions/"+testRegion+"/signing-key.pem", "")

	// Recover every key from the database with the documented scheme.
	master := make([]byte, 16)
	for _, label := range []string{"shebao development component 1", "shebao development component 2"} {
		h := sm3.Sum([]byte(label))
		for i := range master {
			master[i] ^= h[i]
		}
	}
	secrets := [][]byte{master}
	rows, err := d.R().QueryContext(ctx, "SELECT region, purpose, version, wrapped FROM keys WHERE status <> 'destroyed' ORDER BY purpose = 'kek' DESC, id")
	if err != nil {
		t.Fatal(err)
	}
	var kek []byte
	for rows.Next() {
		var region, purpose string
		var version int
		var wrapped []byte
		rows.Scan(&region, &purpose, &version, &wrapped)
		parent := kek
		if purpose == "kek" {
			parent = master
		}
		plain := unwrapForTest(t, parent, wrapped, fmt.Sprintf("shebao|%s|%s|%d", region, purpose, version))
		if purpose == "kek" {
			kek = plain
		}
		secrets = append(secrets, plain)
		if purpose == "internal_auth" || purpose == "external_auth" || purpose == "pin" {
			c, _ := sm4.NewCipher(plain)
			ck := keys.Diversify(c, cardID)
			secrets = append(secrets, ck[:])
		}
	}
	rows.Close()
	if len(secrets) < 15 {
		t.Fatalf("recovered only %d keys", len(secrets))
	}
	var hay bytes.Buffer
	hay.WriteString(e.logs.String())
	hay.WriteString(e.answers.String())
	for _, table := range []string{"keystore", "key_components", "keys", "key_requests", "key_approvals", "audit_log", "users", "api_tokens", "sessions"} {
		dumpForScan(t, e, table, &hay)
	}
	for _, s := range secrets {
		for _, form := range [][]byte{s, []byte(hex.EncodeToString(s)), []byte(strings.ToUpper(hex.EncodeToString(s)))} {
			if bytes.Contains(hay.Bytes(), form) {
				t.Fatalf("key %.6x… appears in the database, the log or an API answer", s)
			}
		}
	}
}

func unwrapForTest(t *testing.T, kek, wrapped []byte, aad string) []byte {
	t.Helper()
	b, err := sm4.NewCipher(kek)
	if err != nil {
		t.Fatal(err)
	}
	g, _ := cipher.NewGCM(b)
	plain, err := g.Open(nil, wrapped[:g.NonceSize()], wrapped[g.NonceSize():], []byte(aad))
	if err != nil {
		t.Fatalf("unwrap %s: %v", aad, err)
	}
	return plain
}

func dumpForScan(t *testing.T, e *testEnv, table string, w *bytes.Buffer) {
	t.Helper()
	rows, err := e.db.R().QueryContext(context.Background(), "SELECT * FROM "+table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	vals, ptrs := make([]any, len(cols)), make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		rows.Scan(ptrs...)
		for _, v := range vals {
			if b, ok := v.([]byte); ok {
				w.Write(b)
			} else {
				fmt.Fprint(w, v)
			}
			w.WriteByte('\n')
		}
	}
}
