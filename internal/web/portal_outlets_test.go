package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/db/dbtest"
)

// TestPortalOutlets: the administrator lists the region's outlets and adds one; a bad code or an
// empty name brings the form back with what was typed and each problem beside its field, in the
// reader's language, and adds nothing; a code already taken is refused the same way; the notice
// after adding names the outlet. A clerk reads the list without the form and cannot post it.
func TestPortalOutlets(t *testing.T) {
	e := newTestEnv(t, dbtest.SQLite(t, dbtest.Options{}))
	ctx := context.Background()
	admin := portalClient(t, e, auth.Admin)
	status, page, _ := getPage(t, admin, e.http.URL+"/outlets")
	if status != 200 || !strings.Contains(page, `data-outlet="XH-01"`) || !strings.Contains(page, `id="outlet-form"`) ||
		!strings.Contains(page, `class="table-wrap"`) || !strings.Contains(page, `href="/outlets"`) {
		t.Fatalf("admin's outlets page: %d %.3000s", status, page)
	}

	// Two problems at once, each beside its field; what was typed stays.
	status, page = postForm(t, admin, e.http.URL+"/outlets", url.Values{"code": {"x"}, "name": {" "}, "address": {"文三路1号"}, "region": {testRegion}})
	if status != http.StatusUnprocessableEntity && status != http.StatusBadRequest {
		t.Fatalf("bad form: status %d", status)
	}
	for _, want := range []string{`id="outlet-code-problem">2–20 个大写字母、数字或 &#39;-&#39;</span>`, `id="outlet-name-problem">1–100 个字符</span>`,
		`aria-describedby="outlet-code-hint outlet-code-problem" aria-invalid="true"`, `aria-invalid="true" aria-describedby="outlet-name-problem"`,
		`value="文三路1号"`, `value="x"`, "网点编码", "网点名称"} {
		if !strings.Contains(page, want) {
			t.Errorf("bad form lacks %s:\n%.4000s", want, page)
		}
	}
	if strings.Contains(page, "姓名") {
		t.Error("the problem calls the outlet's name a person's name (姓名)")
	}
	os, err := e.cards.Outlets(ctx, e.principal(auth.Admin))
	if err != nil || len(os) != 1 {
		t.Fatalf("after the bad form: %v %v", os, err)
	}

	// In English.
	enAdmin := portalClient(t, e, auth.Admin)
	if resp, err := enAdmin.Get(e.http.URL + "/lang/en"); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}
	_, page = postForm(t, enAdmin, e.http.URL+"/outlets", url.Values{"code": {"x"}, "name": {"Gongshu"}, "region": {testRegion}})
	if !strings.Contains(page, `id="outlet-code-problem">2–20 capital letters, digits or &#39;-&#39;</span>`) || !strings.Contains(page, "Outlet code") {
		t.Errorf("English bad form:\n%.4000s", page)
	}

	// Added: the list page says so once, and shows the new row.
	status, page = postForm(t, admin, e.http.URL+"/outlets", url.Values{"code": {"gs-02"}, "name": {"拱墅区社保服务网点"}, "region": {testRegion}})
	if status != 200 || !strings.Contains(page, "已新增服务网点“拱墅区社保服务网点”（GS-02）") || !strings.Contains(page, `data-outlet="GS-02"`) {
		t.Fatalf("added: %d %.4000s", status, page)
	}
	if _, page, _ = getPage(t, admin, e.http.URL+"/outlets"); strings.Contains(page, "已新增服务网点") {
		t.Error("the notice is shown twice")
	}
	// The same code again (a second press) adds nothing.
	_, page = postForm(t, admin, e.http.URL+"/outlets", url.Values{"code": {"GS-02"}, "name": {"另一个网点"}, "region": {testRegion}})
	if !strings.Contains(page, `id="outlet-code-problem">已被使用</span>`) || !strings.Contains(page, `value="另一个网点"`) {
		t.Errorf("duplicate code:\n%.4000s", page)
	}
	// Another region than the admin's.
	_, page = postForm(t, admin, e.http.URL+"/outlets", url.Values{"code": {"BJ-01"}, "name": {"北京网点"}, "region": {"110100"}})
	if !strings.Contains(page, `id="outlet-region-problem">不属于您负责的统筹区</span>`) {
		t.Errorf("other region:\n%.4000s", page)
	}
	if os, _ = e.cards.Outlets(ctx, e.principal(auth.Admin)); len(os) != 2 {
		t.Fatalf("outlets: %v", os)
	}

	// A clerk reads the list, finds no form, and may not add.
	clerk := portalClient(t, e, auth.Clerk)
	status, page, _ = getPage(t, clerk, e.http.URL+"/outlets")
	if status != 200 || !strings.Contains(page, `data-outlet="GS-02"`) || strings.Contains(page, `id="outlet-form"`) {
		t.Fatalf("clerk's outlets page: %d, form shown: %v", status, strings.Contains(page, `id="outlet-form"`))
	}
	if status, _ = postForm(t, clerk, e.http.URL+"/outlets", url.Values{"code": {"GS-03"}, "name": {"网点"}, "region": {testRegion}}); status != http.StatusForbidden {
		t.Errorf("clerk posts an outlet: %d", status)
	}
	if os, _ = e.cards.Outlets(ctx, e.principal(auth.Admin)); len(os) != 2 {
		t.Fatalf("after the clerk: %v", os)
	}
}
