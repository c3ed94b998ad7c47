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

// The policy form's labels: "f." names a document key wherever it is shown (beside its input and
// in the summary of an error), "pform." the form's own words.
var policyFormMessages = map[string][2]string{
	"f.policy_name":                                       {"政策版本名称", "Version name"},
	"f.effective_from":                                    {"生效月份", "Effective from"},
	"f.contributions.average_wage":                        {"社会平均工资（元/月）", "Average wage (yuan a month)"},
	"f.contributions.base_floor":                          {"缴费基数下限（社平工资的 %）", "Base floor (% of the average wage)"},
	"f.contributions.base_ceiling":                        {"缴费基数上限（社平工资的 %）", "Base ceiling (% of the average wage)"},
	"f.contributions.due_day":                             {"缴费截止日（次月几日）", "Due day (of the next month)"},
	"f.contributions.late_fee_daily":                      {"滞纳金日费率（%）", "Late fee a day (%)"},
	"f.contributions.rates.pension.employer":              {"基本养老保险 · 单位缴费比例（%）", "Pension · employer's rate (%)"},
	"f.contributions.rates.pension.employee":              {"基本养老保险 · 个人缴费比例（%）", "Pension · employee's rate (%)"},
	"f.contributions.rates.pension.personal_account":      {"基本养老保险 · 划入个人账户比例（%）", "Pension · to the personal account (%)"},
	"f.contributions.rates.medical.employer":              {"基本医疗保险 · 单位缴费比例（%）", "Medical · employer's rate (%)"},
	"f.contributions.rates.medical.employee":              {"基本医疗保险 · 个人缴费比例（%）", "Medical · employee's rate (%)"},
	"f.contributions.rates.medical.personal_account":      {"基本医疗保险 · 划入个人账户比例（%）", "Medical · to the personal account (%)"},
	"f.contributions.rates.unemployment.employer":         {"失业保险 · 单位缴费比例（%）", "Unemployment · employer's rate (%)"},
	"f.contributions.rates.unemployment.employee":         {"失业保险 · 个人缴费比例（%）", "Unemployment · employee's rate (%)"},
	"f.contributions.rates.unemployment.personal_account": {"失业保险 · 划入个人账户比例（%）", "Unemployment · to the personal account (%)"},
	"pform.general":                                       {"版本", "Version"},
	"pform.bases":                                         {"缴费基数与缴费期限", "Bases and due dates"},
	"pform.employer":                                      {"单位缴费比例（%）", "Employer's rate (%)"},
	"pform.employee":                                      {"个人缴费比例（%）", "Employee's rate (%)"},
	"pform.personal_account":                              {"划入个人账户比例（%）", "To the personal account (%)"},
	"pform.month_hint":                                    {"6 位数字：年份和月份，如 202701。", "Six digits, the year and the month: 202701."},
	"pform.hint.contributions.average_wage":               {"上年度全口径城镇单位就业人员月平均工资，单位元，如 7500.00。", "Last year's monthly average wage of urban employees, in yuan: 7500.00."},
	"pform.hint.contributions.base_floor":                 {"通常为 60。", "Usually 60."},
	"pform.hint.contributions.base_ceiling":               {"通常为 300，不低于下限。", "Usually 300; not below the floor."},
	"pform.hint.contributions.due_day":                    {"1 至 28 日。", "From 1 to 28."},
	"pform.hint.contributions.late_fee_daily":             {"社会保险法第八十六条：0.05。", "Social Insurance Law Art. 86: 0.05."},
	"pform.text":                                          {"修改常用参数后提交；其余规则沿用", "Change the common parameters and submit; every other rule is carried over from"},
	"pform.based_on":                                      {"政策版本", "policy version"},
	"pform.based_default":                                 {"系统默认参数。", "the built-in defaults."},
	"pform.advanced":                                      {"高级：编辑完整的 JSON 文档", "Advanced: edit the whole JSON document"},
	"pform.json":                                          {"政策文档（JSON）", "Policy document (JSON)"},
	"flash.policy_proposed":                               {"新的政策版本已提交，待另一名审核人员批准后生效。", "The new policy version is proposed; it takes effect once another person approves it."},
}

func init() { addMessages(policyFormMessages) }
