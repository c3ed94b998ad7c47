package web

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/shebao/shebao/internal/auth"
	"github.com/shebao/shebao/internal/db"
	"github.com/shebao/shebao/internal/db/dbtest"
)

// TestPersonAndEmployerAPI: valid, each kind of invalid, and duplicate ID numbers and USCCs, on
// both databases.
func TestPersonAndEmployerAPI(t *testing.T) {
	dbtest.Each(t, func(t *testing.T, d *db.DB) {
		e := newTestEnv(t, d)
		status, body := e.do(auth.Clerk, "POST", "/api/v1/persons", `{"id_number":"11010519491231002x","name":"王芳","hukou_type":"non_local","residence_permit":"JZ1"}`)
		if status != 201 {
			t.Fatalf("register: %d %s", status, body)
		}
		var p map[string]any
		json.Unmarshal([]byte(body), &p)
		if p["id_number"] != "11010519491231002X" || p["name"] != "王芳" || p["gender"] != "female" || p["birth_date"] != "1949-12-31" {
			t.Fatalf("person answer = %v", p)
		}
		status, body = e.do(auth.Clerk, "GET", "/api/v1/persons/11010519491231002x", "")
		if status != 200 || !strings.Contains(body, `"gender":"female"`) {
			t.Fatalf("get: %d %s", status, body)
		}
		status, body = e.do(auth.Clerk, "POST", "/api/v1/persons", `{"id_number":"11010519491231002X","name":"王芳","hukou_type":"local"}`)
		if status != 409 || errorOf(t, body).Fields["id_number"] == "" {
			t.Fatalf("duplicate: %d %s", status, body)
		}
		for name, id := range map[string]string{
			"check character": "110105194912310021",
			"impossible date": "110105199902290028",
			"future date":     "110105209901010020",
			"length":          "11010519491231",
			"characters":      "1101051949123100AX",
			"address code":    "000105194912310021",
			"empty":           "",
		} {
			status, body := e.do(auth.Clerk, "POST", "/api/v1/persons", `{"id_number":"`+id+`","name":"某","hukou_type":"local"}`)
			if status != 422 || errorOf(t, body).Fields["id_number"] == "" {
				t.Errorf("%s (%s): %d %s; want 422 naming id_number", name, id, status, body)
			}
		}
		status, body = e.do(auth.Clerk, "GET", "/api/v1/persons/110105194912310021", "")
		if status != 422 {
			t.Fatalf("get with a bad number: %d %s", status, body)
		}

		status, body = e.do(auth.Clerk, "POST", "/api/v1/employers", `{"uscc":"91110000600037341L","name":"示范","legal_rep":"赵","risk_class":3}`)
		if status != 201 || !strings.Contains(body, `"uscc":"91110000600037341L"`) {
			t.Fatalf("employer: %d %s", status, body)
		}
		status, body = e.do(auth.Clerk, "POST", "/api/v1/employers", `{"uscc":"91110000600037341l","name":"示范","legal_rep":"赵","risk_class":3}`)
		if status != 409 || errorOf(t, body).Fields["uscc"] == "" {
			t.Fatalf("duplicate employer: %d %s", status, body)
		}
		for name, u := range map[string]string{
			"check character":  "91110000600037341M",
			"forbidden letter": "91110000600037341I",
			"length":           "9111000060003",
			"empty":            "",
		} {
			status, body := e.do(auth.Clerk, "POST", "/api/v1/employers", `{"uscc":"`+u+`","name":"x","legal_rep":"y","risk_class":1}`)
			if status != 422 || errorOf(t, body).Fields["uscc"] == "" {
				t.Errorf("%s (%s): %d %s; want 422 naming uscc", name, u, status, body)
			}
		}
		status, body = e.do(auth.Clerk, "POST", "/api/v1/employers", `{"uscc":"91110000600037341L","name":"","legal_rep":"","risk_class":12}`)
		if f := errorOf(t, body).Fields; status != 422 || f["name"] == "" || f["legal_rep"] == "" || f["risk_class"] == "" {
			t.Fatalf("several bad fields: %d %s", status, body)
		}
	})
}

// TestResidentAndEmployerSeeOnlyTheirOwn through the API.
func TestResidentAndEmployerSeeOnlyTheirOwn(t *testing.T) {
	e := newTestEnv(t, dbtest.SQLite(t, dbtest.Options{}))
	other := e.newPerson()
	if status, _ := e.do(auth.Resident, "GET", "/api/v1/persons/"+e.personID, ""); status != 200 {
		t.Fatalf("resident reads themself: %d", status)
	}
	if status, _ := e.do(auth.Resident, "GET", "/api/v1/persons/"+other, ""); status != 404 {
		t.Fatalf("resident reads another: %d", status)
	}
	if status, _ := e.do(auth.Employer, "GET", "/api/v1/persons/"+other, ""); status != 404 {
		t.Fatalf("employer reads a non-employee: %d", status)
	}
	status, body := e.do(auth.Clerk, "POST", "/api/v1/employers", `{"uscc":"`+e.newUSCC()+`","name":"别家","legal_rep":"钱","risk_class":4}`)
	if status != 201 {
		t.Fatal(body)
	}
	var emp map[string]any
	json.Unmarshal([]byte(body), &emp)
	uscc := emp["uscc"].(string)
	for _, path := range []string{"/api/v1/employers/" + uscc, "/api/v1/employers/" + uscc + "/staff"} {
		if status, _ := e.do(auth.Employer, "GET", path, ""); status != 404 {
			t.Errorf("employer reads another employer's %s: %d", path, status)
		}
	}
	if status, _ := e.do(auth.Employer, "POST", "/api/v1/employers/"+uscc+"/staff", `{"id_number":"`+e.newID()+`","name":"x","base":"5000","month":"`+thisMonth(e)+`"}`); status != 404 {
		t.Errorf("employer adds staff to another employer: %d", status)
	}
}

func TestBulkUploadAPIReportsRows(t *testing.T) {
	e := newTestEnv(t, dbtest.SQLite(t, dbtest.Options{}))
	csv := "操作,身份证号,姓名,缴费基数,月份\n增员," + e.newID() + ",甲,7000," + thisMonth(e) + "\n增员,123,乙,7000," + thisMonth(e) + "\n增员," + e.newID() + ",丙,abc," + thisMonth(e) + "\n"
	status, body := e.do(auth.Employer, "POST", "/api/v1/employers/"+e.employerUSCC+"/staff/bulk", csv)
	if status != 422 {
		t.Fatalf("%d %s", status, body)
	}
	rows := errorOf(t, body).Rows
	if len(rows) != 2 || rows[0].Line != 3 || rows[0].Column != "B" || rows[1].Line != 4 || rows[1].Column != "D" {
		t.Fatalf("rows = %+v", rows)
	}
	status, body = e.do("", "GET", "/api/v1/templates/staff.xlsx", "")
	if status != 200 || !strings.HasPrefix(body, "PK") {
		t.Fatalf("template: %d", status)
	}
}
