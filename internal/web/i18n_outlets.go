package web

// The messages of the outlets page and of the policy form; merged into messages at start-up.
func init() { addMessages(outletMessages) }

var outletMessages = map[string][2]string{
	"menu.outlets":             {"服务网点", "Service outlets"},
	"outlets.title":            {"服务网点", "Service outlets"},
	"outlets.intro":            {"服务网点是参保人领取社会保障卡、重置密码和领取临时卡的地方。制卡批次配送到这里列出的网点。", "Service outlets are where people collect their social security cards, reset a PIN or get a temporary card. Production batches are sent to the outlets listed here."},
	"outlets.none":             {"您所辖统筹区还没有服务网点。", "Your regions have no service outlet yet."},
	"outlets.code":             {"网点编码", "Outlet code"},
	"outlets.code_hint":        {"2–20 位大写字母、数字或“-”，如 XH-01；登记后不能修改。", "2–20 capital letters, digits or '-', such as XH-01; it cannot be changed later."},
	"outlets.name":             {"网点名称", "Outlet name"},
	"outlets.address":          {"地址", "Address"},
	"outlets.address_optional": {"地址（选填）", "Address (optional)"},
	"outlets.region":           {"统筹区", "Region"},
	"outlets.add":              {"新增服务网点", "Add a service outlet"},
	"outlets.submit":           {"登记网点", "Add the outlet"},
	"flash.outlet_added":       {"已新增服务网点“%s”（%s）。", "Service outlet “%s” (%s) added."},
}
