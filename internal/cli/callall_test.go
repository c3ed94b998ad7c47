package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestCallAllFollowsNext: a listing command reads every page of an API list, not just the first.
func TestCallAllFollowsNext(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next := map[string]string{"": "b", "b": "c", "c": ""}[r.URL.Query().Get("cursor")]
		fmt.Fprintf(w, `{"keys":[%q],"next":%q}`, r.URL.Query().Get("cursor"), next)
	}))
	defer srv.Close()
	out, status, err := callAll(context.Background(), srv.URL, "tok", "/api/v1/keys", "keys")
	if err != nil || status != 200 {
		t.Fatal(status, err)
	}
	var got struct {
		Keys []string `json:"keys"`
		Next *string  `json:"next"`
	}
	if err := json.Unmarshal(out, &got); err != nil || fmt.Sprint(got.Keys) != "[ b c]" || got.Next == nil || *got.Next != "" {
		t.Fatalf("%s", out)
	}
}
