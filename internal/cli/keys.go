package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/shebao/shebao/internal/config"
	"github.com/shebao/shebao/internal/keys"
	"github.com/shebao/shebao/internal/policy"
)

// runKeys: the key ceremony commands. `component` and `init` work on the database directly (once,
// before the server holds any key); the others talk to the running server, because only its
// memory can hold the unsealed master key.
func runKeys(ctx context.Context, io IO, args []string) error {
	usage := fmt.Errorf("%w: shebao keys component | init --custodians A,B | status | unseal | list | requests | request --kind K | approve --id N", errUsage)
	if len(args) == 0 {
		return usage
	}
	switch args[0] {
	case "component":
		return keysComponent(io, args[1:])
	case "init":
		return keysInit(ctx, io, args[1:])
	case "status", "unseal", "list", "requests", "request", "approve", "seal":
		return keysRemote(ctx, io, args[0], args[1:])
	}
	return usage
}

func keysComponent(io IO, args []string) error {
	fs := newFlags("keys component", io)
	if err := parse(fs, args); err != nil {
		return err
	}
	c, kcv, err := keys.NewComponent()
	if err != nil {
		return err
	}
	fmt.Fprintln(io.Out, "A new key component. Write it down, keep it where only you can reach it, and give no one else")
	fmt.Fprintln(io.Out, "a look at it. Give the check value (KCV) to whoever runs 'shebao keys init'; never the component.")
	fmt.Fprintf(io.Out, "\n  component: %s\n  KCV:       %s\n\n", c, kcv)
	return nil
}

func keysInit(ctx context.Context, io IO, args []string) error {
	fs := newFlags("keys init", io)
	var c config.DB
	config.RegisterDB(fs, io.Env, &c)
	custodians := fs.String("custodians", "", "the custodians' usernames, comma-separated, in the order their components are entered (at least two)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := c.Resolve(); err != nil {
		return err
	}
	names := splitList(*custodians)
	if len(names) < 2 {
		return fmt.Errorf("%w: --custodians needs at least two usernames", errUsage)
	}
	d, err := openDB(ctx, c)
	if err != nil {
		return err
	}
	defer d.Close()
	in := bufio.NewReader(io.In)
	var comps [][]byte
	defer func() {
		for _, c := range comps {
			clear(c)
		}
	}()
	for _, name := range names {
		fmt.Fprintf(io.Err, "%s: enter your component (32 hex digits) and press Enter: ", name)
		line, err := in.ReadString('\n')
		if err != nil && line == "" {
			return fmt.Errorf("reading %s's component: %w", name, err)
		}
		comp, err := keys.ParseComponent(line)
		if err != nil {
			return fmt.Errorf("%s's component: %w", name, err)
		}
		kcv, _ := keys.KCV(comp)
		fmt.Fprintf(io.Err, "  accepted; KCV %s — %s, check it against your own\n", kcv, name)
		comps = append(comps, comp)
	}
	svc := keys.New(d, policy.NewStore(d), nil)
	if err := svc.Init(ctx, operator(), keys.Production, names, comps); err != nil {
		return err
	}
	st, err := svc.Status(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(io.Out, "keystore initialised: %d components, master key KCV %s\n", st.Required, st.MasterKCV)
	fmt.Fprintln(io.Out, "Start the server; it stays sealed until every custodian enters their component (shebao keys unseal, or the portal).")
	return nil
}

// keysRemote calls the running server's key API with a custodian's or administrator's token.
func keysRemote(ctx context.Context, io IO, cmd string, args []string) error {
	fs := newFlags("keys "+cmd, io)
	server := fs.String("server", envOr(io.Env, "SHEBAO_SERVER", "http://127.0.0.1:8080"), "the running server (SHEBAO_SERVER)")
	token := fs.String("token", io.Env("SHEBAO_TOKEN"), "your API token (SHEBAO_TOKEN)")
	kind := fs.String("kind", "", "request: generate, rotate, export or destroy")
	region := fs.String("region", "", "request: the region")
	purpose := fs.String("purpose", "", "request export/destroy: the key purpose")
	version := fs.Int("version", 0, "request export/destroy: the key version")
	recipient := fs.String("recipient", "", "request export: file holding the manufacturer's SM2 public key (PEM)")
	id := fs.Int("id", 0, "approve: the request id")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *token == "" {
		return fmt.Errorf("%w: give --token or SHEBAO_TOKEN (shebao token add --username YOU)", errUsage)
	}
	var method, path string
	var body any
	switch cmd {
	case "status":
		method, path = "GET", "/api/v1/keys/status"
	case "list":
		method, path = "GET", "/api/v1/keys"
	case "requests":
		method, path = "GET", "/api/v1/keys/requests"
	case "seal":
		method, path = "POST", "/api/v1/keys/seal"
	case "unseal":
		fmt.Fprint(io.Err, "enter your component (32 hex digits) and press Enter: ")
		line, err := bufio.NewReader(io.In).ReadString('\n')
		if err != nil && line == "" {
			return fmt.Errorf("reading the component: %w", err)
		}
		method, path, body = "POST", "/api/v1/keys/unseal", map[string]string{"component": strings.TrimSpace(line)}
	case "request":
		pem := ""
		if *recipient != "" {
			b, err := readFile(*recipient)
			if err != nil {
				return err
			}
			pem = string(b)
		}
		method, path, body = "POST", "/api/v1/keys/requests", map[string]any{"kind": *kind, "region": *region, "purpose": *purpose,
			"version": *version, "recipient_public_key": pem}
	case "approve":
		method, path = "POST", fmt.Sprintf("/api/v1/keys/requests/%d/approve", *id)
	}
	var out []byte
	var status int
	var err error
	switch cmd {
	case "list":
		out, status, err = callAll(ctx, *server, *token, path, "keys")
	case "requests":
		out, status, err = callAll(ctx, *server, *token, path, "requests")
	default:
		out, status, err = call(ctx, *server, *token, method, path, body)
	}
	if err != nil {
		return err
	}
	var pretty bytes.Buffer
	if json.Indent(&pretty, out, "", "  ") == nil {
		out = pretty.Bytes()
	}
	fmt.Fprintln(io.Out, string(out))
	if status >= 300 {
		return fmt.Errorf("the server answered %d", status)
	}
	return nil
}

func envOr(env config.Env, name, def string) string {
	if v := env(name); v != "" {
		return v
	}
	return def
}

// callAll reads every page of a list of the API (GET path), following next, and returns one
// answer holding all of them under key (and next ""), or the first answer that is not a page.
func callAll(ctx context.Context, server, token, path, key string) ([]byte, int, error) {
	all := []json.RawMessage{}
	cursor := ""
	for {
		p := path
		if cursor != "" {
			p += "?cursor=" + url.QueryEscape(cursor)
		}
		out, status, err := call(ctx, server, token, http.MethodGet, p, nil)
		if err != nil || status >= 300 {
			return out, status, err
		}
		var page map[string]json.RawMessage
		var items []json.RawMessage
		var next string
		if err := json.Unmarshal(out, &page); err != nil {
			return nil, 0, fmt.Errorf("the server's answer to %s: %w", path, err)
		}
		if err := json.Unmarshal(page[key], &items); err != nil {
			return nil, 0, fmt.Errorf("the server's answer to %s has no list %s: %w", path, key, err)
		}
		if err := json.Unmarshal(page["next"], &next); err != nil {
			return nil, 0, fmt.Errorf("the server's answer to %s has no next: %w", path, err)
		}
		all = append(all, items...)
		// A next that repeats the cursor would go round for ever.
		if next == "" || next == cursor {
			b, err := json.Marshal(map[string]any{key: all, "next": ""})
			return b, status, err
		}
		cursor = next
	}
}

// call makes one API request with a JSON body (nil: none) and returns the body and status.
func call(ctx context.Context, server, token, method, path string, body any) ([]byte, int, error) {
	var b []byte
	if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			return nil, 0, err
		}
	}
	// Every write of the API takes an Idempotency-Key; a command is one attempt, so one key each.
	var headers map[string]string
	if method == http.MethodPost {
		headers = map[string]string{"Idempotency-Key": newIdemKey()}
	}
	out, _, status, err := request(ctx, server, token, method, path, b, headers)
	return out, status, err
}
