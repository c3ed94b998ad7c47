package contrib

import (
	"strconv"
	"strings"

	"github.com/shebao/shebao/internal/errs"
)

// A payer is who a bill is addressed to, written "employer:<id>" for an employer's bill and
// "person:<id>" for a flexible worker's own; bills, payments and the API all name payers so.

// EmployerPayer names an employer as a payer.
func EmployerPayer(id int64) string { return "employer:" + strconv.FormatInt(id, 10) }

// PersonPayer names a person (a flexible worker) as a payer.
func PersonPayer(id int64) string { return "person:" + strconv.FormatInt(id, 10) }

// ParsePayer splits a payer into its kind ("employer" or "person") and id.
func ParsePayer(payer string) (kind string, id int64, err error) {
	kind, idText, _ := strings.Cut(payer, ":")
	id, perr := strconv.ParseInt(idText, 10, 64)
	// Only the one way of writing a payer: "employer:07" or "employer:+7" would name employer 7
	// but find none of its bills, which are stored under "employer:7".
	if perr != nil || id <= 0 || (kind != "employer" && kind != "person") || strconv.FormatInt(id, 10) != idText {
		return "", 0, errs.Field("payer", `"employer:<id>" or "person:<id>"`)
	}
	return kind, id, nil
}
