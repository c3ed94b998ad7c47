package web

import (
	"net/http"
	"strings"
)

// The portal speaks Chinese by default and English on request. The choice comes from the "lang"
// cookie (set by the switch in the header), else from Accept-Language, else Chinese.

type lang string

const (
	zh lang = "zh"
	en lang = "en"
)

const langCookie = "shebao_lang"

func pickLang(r *http.Request) lang {
	if c, err := r.Cookie(langCookie); err == nil {
		if l := lang(c.Value); l == zh || l == en {
			return l
		}
	}
	// The first language the browser names decides; a quality-weighted parse adds nothing for two
	// languages.
	first, _, _ := strings.Cut(r.Header.Get("Accept-Language"), ",")
	if strings.HasPrefix(strings.ToLower(strings.TrimSpace(first)), "en") {
		return en
	}
	return zh
}

// T translates a message key. A missing key is a programming error caught by TestEveryKeyTranslated;
// at run time it shows the key rather than failing the page.
func (l lang) T(key string) string {
	m, ok := messages[key]
	if !ok {
		return key
	}
	if l == en {
		return m[1]
	}
	return m[0]
}

// messages: key → {Chinese, English}.
var messages = map[string][2]string{
	"app.name":    {"社会保障服务平台", "Social Security Services"},
	"app.short":   {"社保", "shebao"},
	"lang.switch": {"English", "中文"},
	"lang.other":  {"en", "zh"},

	"menu.home":    {"首页", "Home"},
	"menu.users":   {"用户管理", "Users"},
	"menu.audit":   {"审计日志", "Audit log"},
	"menu.account": {"我的账户", "My account"},
	"menu.logout":  {"退出", "Log out"},
	"menu.login":   {"登录", "Log in"},

	"role.resident":     {"参保人", "Resident"},
	"role.employer":     {"单位经办人", "Employer HR"},
	"role.clerk":        {"窗口经办", "Service clerk"},
	"role.reviewer":     {"审核人员", "Reviewer"},
	"role.card_officer": {"制卡发卡人员", "Card officer"},
	"role.bank":         {"合作银行", "Bank"},
	"role.institution":  {"定点医药机构", "Medical institution"},
	"role.custodian":    {"密钥保管员", "Key custodian"},
	"role.auditor":      {"审计人员", "Auditor"},
	"role.admin":        {"系统管理员", "Administrator"},

	"login.title":    {"登录", "Log in"},
	"login.username": {"用户名", "Username"},
	"login.password": {"密码", "Password"},
	"login.totp":     {"动态验证码（如已开启）", "Authenticator code (if enabled)"},
	"login.submit":   {"登录", "Log in"},
	"login.intro":    {"居民、单位、银行、医药机构与经办人员统一登录入口。", "One login for residents, employers, banks, medical institutions and bureau staff."},

	"home.welcome": {"您好，", "Welcome, "},
	"home.region":  {"统筹区", "Pooling region"},

	"sec.enrolment":      {"我的参保", "My insurance"},
	"sec.enrolment.none": {"暂无参保记录。参保登记后将在此显示各险种状态。", "No enrolment yet. Once you are enrolled, each insurance type shows here."},
	"sec.contrib":        {"缴费记录", "Contributions"},
	"sec.contrib.none":   {"暂无缴费记录。", "No contributions recorded yet."},
	"sec.card":           {"我的社保卡", "My social security card"},
	"sec.card.none":      {"尚未申领社保卡。", "You have not applied for a social security card yet."},
	"sec.staff":          {"本单位职工", "Our staff"},
	"sec.staff.none":     {"尚无参保职工。", "No staff enrolled yet."},
	"sec.bills":          {"缴费账单", "Bills"},
	"sec.bills.none":     {"暂无账单。", "No bills yet."},
	"sec.window":         {"窗口业务", "Service window"},
	"sec.window.none":    {"暂无待办业务。", "Nothing waiting at the window."},
	"sec.review":         {"待审核", "Waiting for review"},
	"sec.review.none":    {"没有待审核的申请。", "No applications wait for review."},
	"sec.batches":        {"制卡批次", "Production batches"},
	"sec.batches.none":   {"暂无制卡批次。", "No production batches yet."},
	"sec.bankcards":      {"社保卡金融功能与医保卡", "Card bank functions and medical insurance cards"},
	"sec.bankcards.none": {"暂无待办。", "Nothing to do yet."},
	"sec.settle":         {"医疗结算", "Medical settlement"},
	"sec.settle.none":    {"暂无结算记录。", "No settlements yet."},
	"sec.keys":           {"密钥服务", "Key service"},
	"sec.keys.none":      {"暂无待审批的密钥请求。", "No key requests wait for approval."},
	"sec.auditlog":       {"审计日志", "Audit log"},
	"sec.auditlog.text":  {"查看全部变更记录并校验哈希链。", "Read every change and verify the hash chain."},
	"sec.admin":          {"系统管理", "Administration"},
	"sec.admin.text":     {"管理用户、角色与统筹区。", "Manage users, roles and regions."},
	"sec.open":           {"打开", "Open"},

	"account.title":       {"我的账户", "My account"},
	"account.username":    {"用户名", "Username"},
	"account.role":        {"角色", "Role"},
	"account.regions":     {"统筹区", "Regions"},
	"account.password":    {"修改密码", "Change password"},
	"account.current":     {"当前密码", "Current password"},
	"account.new":         {"新密码（至少10位）", "New password (at least 10 characters)"},
	"account.save":        {"保存", "Save"},
	"account.saved":       {"密码已修改。", "Password changed."},
	"account.totp":        {"两步验证（TOTP）", "Two-step verification (TOTP)"},
	"account.totp.on":     {"已开启：登录时需要输入验证器中的动态码。", "On: logging in needs the code from your authenticator app."},
	"account.totp.off":    {"未开启。建议经办人员开启。", "Off. Bureau staff should turn it on."},
	"account.totp.begin":  {"开启两步验证", "Turn on two-step verification"},
	"account.totp.secret": {"在验证器应用中添加以下密钥，然后输入显示的6位动态码：", "Add this key to your authenticator app, then enter the 6-digit code it shows:"},
	"account.totp.code":   {"动态码", "Code"},
	"account.totp.done":   {"两步验证已开启。", "Two-step verification is on."},

	"users.title":    {"用户管理", "Users"},
	"users.username": {"用户名", "Username"},
	"users.name":     {"姓名", "Name"},
	"users.role":     {"角色", "Role"},
	"users.regions":  {"统筹区", "Regions"},
	"users.status":   {"状态", "Status"},
	"users.active":   {"正常", "Active"},
	"users.disabled": {"已停用", "Disabled"},
	"users.create":   {"新建用户", "New user"},
	"users.region":   {"统筹区代码（6位）", "Region code (6 digits)"},
	"users.created":  {"用户已创建。初始密码只显示这一次：", "User created. The initial password is shown only this once:"},
	"users.none":     {"本统筹区暂无用户。", "No users in your regions."},
	"users.submit":   {"创建", "Create"},
	"users.demo":     {"演示", "demo"},
	"users.totp":     {"两步验证", "2-step"},

	"audit.title":   {"审计日志", "Audit log"},
	"audit.verify":  {"校验哈希链", "Verify the hash chain"},
	"audit.ok":      {"哈希链完整：", "The chain is intact: "},
	"audit.entries": {"条记录，链头", "entries, head"},
	"audit.broken":  {"哈希链被破坏，第一处问题：记录", "The chain is broken; first problem at entry"},
	"audit.seq":     {"序号", "Seq"},
	"audit.at":      {"时间", "Time"},
	"audit.actor":   {"操作人", "Actor"},
	"audit.action":  {"操作", "Action"},
	"audit.object":  {"对象", "Object"},
	"audit.none":    {"暂无审计记录。", "No audit entries yet."},
	"audit.older":   {"更早的记录", "Older entries"},

	"error.title": {"出错了", "Something went wrong"},
	"error.back":  {"返回首页", "Back to the home page"},
	"footer.text": {"社会保障服务平台 · 开源软件", "Social Security Services · open-source software"},

	"menu.window":     {"窗口业务", "Service window"},
	"menu.enrolments": {"参保申请", "Enrolments"},
	"menu.staff":      {"本单位职工", "Our staff"},
	"menu.policies":   {"政策参数", "Policy"},
	"menu.guide":      {"办事指南", "Service guide"},

	"sec.window.text":     {"登记参保人和用人单位，办理参保申请。", "Register persons and employers, prepare enrolments."},
	"sec.enrolments":      {"参保申请", "Enrolment applications"},
	"sec.enrolments.text": {"核对材料、提交审核。", "Check materials and submit for review."},
	"sec.review.text":     {"审核窗口提交的参保申请。", "Review the applications the window submitted."},
	"sec.policies":        {"政策参数", "Policy"},
	"sec.policies.text":   {"审批管理员提交的政策变更。", "Approve policy changes an administrator proposed."},
	"sec.staff.text":      {"增员、减员、调整缴费基数，支持批量上传。", "Add and remove staff, change bases, one by one or in bulk."},
	"sec.guide":           {"办事指南", "Service guide"},
	"sec.guide.text":      {"各项业务的办理流程和所需材料。", "How each business works and what to bring."},

	"ins.type":         {"险种", "Insurance"},
	"ins.status":       {"状态", "Status"},
	"ins.since":        {"起始月份", "Since"},
	"ins.by":           {"参保方式", "Insured by"},
	"ins.active":       {"参保中", "Active"},
	"ins.ended":        {"已终止于", "Ended"},
	"ins.future":       {"待生效", "Starts later"},
	"ins.self":         {"个人参保", "Self-insured"},
	"ins.pension":      {"基本养老保险", "Pension"},
	"ins.medical":      {"基本医疗保险", "Medical"},
	"ins.unemployment": {"失业保险", "Unemployment"},
	"ins.work_injury":  {"工伤保险", "Work injury"},
	"ins.maternity":    {"生育保险", "Maternity"},

	"window.title":               {"窗口业务", "Service window"},
	"window.person":              {"参保人登记", "Register a person"},
	"window.employer":            {"用人单位登记", "Register an employer"},
	"window.register":            {"登记", "Register"},
	"window.create_login":        {"同时开通网上服务账号", "Also open a portal login"},
	"window.registered":          {"已登记：", "Registered:"},
	"window.employer.registered": {"单位已登记：", "Employer registered:"},
	"window.login":               {"网上服务账号（初始密码仅显示一次）：", "Portal login (the initial password is shown only once):"},
	"window.operator":            {"单位经办人账号（可选）", "HR operator login (optional)"},

	"f.id_number":        {"公民身份号码", "ID number"},
	"f.name":             {"姓名", "Name"},
	"f.ethnicity":        {"民族", "Ethnicity"},
	"f.hukou_type":       {"户籍类型", "Household registration"},
	"f.hukou.local":      {"本市户籍", "Local"},
	"f.hukou.non_local":  {"外地户籍", "Not local"},
	"f.hukou_place":      {"户籍地", "Registered at"},
	"f.residence_permit": {"居住证号（外地户籍必填）", "Residence permit no. (required when not local)"},
	"f.phone":            {"手机号码", "Phone"},
	"f.address":          {"地址", "Address"},
	"f.uscc":             {"统一社会信用代码", "Unified social credit code"},
	"f.employer_name":    {"单位名称", "Employer name"},
	"f.legal_rep":        {"法定代表人", "Legal representative"},
	"f.industry":         {"行业", "Industry"},
	"f.risk_class":       {"工伤风险类别（1–8）", "Work-injury risk class (1–8)"},
	"f.bank_account":     {"银行账号", "Bank account"},

	"enrolments.title":      {"参保申请", "Enrolment applications"},
	"enrolment.title":       {"参保申请详情", "Enrolment application"},
	"enrol.new":             {"新建参保申请", "New enrolment application"},
	"enrol.category":        {"参保类别", "Category"},
	"enrol.employer":        {"用人单位统一社会信用代码（职工参保）", "Employer's USCC (employees)"},
	"enrol.start":           {"参保起始月份", "First month"},
	"enrol.base":            {"缴费基数（元）", "Contribution base (yuan)"},
	"enrol.create":          {"创建", "Create"},
	"enrol.status":          {"状态", "Status"},
	"enrol.prepared_by":     {"经办人", "Prepared by"},
	"enrol.reviewed_by":     {"审核人", "Reviewed by"},
	"enrol.reason":          {"原因", "Reason"},
	"enrol.none":            {"暂无参保申请。", "No applications."},
	"enrol.checklist":       {"材料清单", "Checklist"},
	"enrol.upload":          {"上传", "Upload"},
	"enrol.note":            {"核对意见", "Note"},
	"enrol.accept":          {"材料合格", "Accept"},
	"enrol.reject_material": {"退回", "Reject"},
	"enrol.submit":          {"提交审核", "Submit for review"},
	"enrol.review":          {"审核", "Review"},
	"enrol.approve":         {"审核通过", "Approve"},
	"enrol.reject":          {"不予通过", "Reject"},
	"status.all":            {"全部", "All"},
	"status.draft":          {"待补材料", "Draft"},
	"status.submitted":      {"待审核", "Submitted"},
	"status.approved":       {"已通过", "Approved"},
	"status.rejected":       {"未通过", "Rejected"},
	"check.missing":         {"未上传", "Missing"},
	"check.pending":         {"待核对", "To check"},
	"check.accepted":        {"合格", "Accepted"},
	"check.rejected":        {"退回", "Rejected"},

	"staff.title":         {"本单位职工", "Our staff"},
	"staff.count":         {"在职参保人数", "Insured staff"},
	"staff.add":           {"增员", "Add staff"},
	"staff.added":         {"增员成功。", "Added."},
	"staff.removed":       {"减员成功。", "Removed."},
	"staff.based":         {"缴费基数已调整。", "Base changed."},
	"staff.month":         {"参保起始月份", "First insured month"},
	"staff.hukou.auto":    {"按身份证号判断", "From the ID number"},
	"staff.bulk":          {"批量增减员", "Bulk upload"},
	"staff.bulk.text":     {"上传 XLSX 或 CSV 文件；有任何一行错误则整份不导入。", "Upload an XLSX or CSV file; if any row is wrong, nothing is imported."},
	"staff.template":      {"下载模板", "Download the template"},
	"staff.upload":        {"上传并导入", "Upload and import"},
	"staff.bulk.done":     {"导入成功，处理行数：", "Imported; rows applied:"},
	"staff.bulk.repeated": {"该文件此前已导入，本次未作任何变更。", "This file was imported before; nothing changed."},
	"staff.bulk.problems": {"以下行有问题，整份文件未导入", "These rows have problems; nothing was imported"},
	"staff.line":          {"行号", "Line"},
	"staff.column":        {"列", "Column"},
	"staff.reason":        {"原因", "Reason"},
	"staff.current":       {"只看在职", "Current staff only"},
	"staff.all":           {"包括已减员", "Include former staff"},
	"staff.since":         {"参保期间", "Insured"},
	"staff.actions":       {"操作", "Actions"},
	"staff.change":        {"调基/减员", "Change"},
	"staff.from":          {"自月份", "From month"},
	"staff.base":          {"调整基数", "Change base"},
	"staff.end_date":      {"离职日期", "Last working day"},
	"staff.remove":        {"减员", "Remove"},

	"guide.title":          {"办事指南", "Service guide"},
	"guide.none":           {"本统筹区尚未发布政策。", "No policy has been published for this region."},
	"guide.materials":      {"所需材料", "What to bring"},
	"guide.categories":     {"参保类别及材料清单", "Enrolment categories and their checklists"},
	"when.local_hukou":     {"本市户籍", "local household registration"},
	"when.non_local_hukou": {"外地户籍", "household registration elsewhere"},

	"policies.title":      {"政策参数", "Policy"},
	"policy.from":         {"生效月份", "Effective from"},
	"policy.proposed_by":  {"提出人", "Proposed by"},
	"policy.none":         {"尚无政策版本。", "No policy versions yet."},
	"policy.propose":      {"提交新的政策版本", "Propose a new policy version"},
	"policy.propose.text": {"编辑 JSON 后提交，经另一名审核人员批准后生效。", "Edit the JSON and submit; it takes effect once another reviewer approves."},
	"policy.submit":       {"提交审批", "Submit for approval"},
	"pstatus.pending":     {"待审批", "Pending"},
	"pstatus.approved":    {"已生效", "Approved"},
	"pstatus.rejected":    {"已驳回", "Rejected"},

	"menu.keys":             {"密钥管理", "Keys"},
	"sec.keys.text":         {"解封密钥服务、审批密钥请求。", "Unseal the key service and approve key requests."},
	"keys.title":            {"密钥管理", "Key management"},
	"keys.seal":             {"密钥服务", "Key service"},
	"keys.uninitialised":    {"密钥库尚未初始化（shebao keys init）。", "The keystore is not initialised (shebao keys init)."},
	"keys.state":            {"状态", "State"},
	"keys.sealed":           {"已封存", "Sealed"},
	"keys.unsealed":         {"已解封", "Unsealed"},
	"keys.mode":             {"模式", "Mode"},
	"keys.mode.production":  {"生产", "Production"},
	"keys.mode.development": {"开发（公开密钥，仅供演示）", "Development (public keys, demo only)"},
	"keys.components":       {"已录入分量", "Components entered"},
	"keys.master_kcv":       {"主密钥校验值", "Master key check value"},
	"keys.component":        {"我的密钥分量（32位十六进制）", "My key component (32 hex digits)"},
	"keys.enter":            {"录入分量", "Enter component"},
	"keys.do_seal":          {"封存密钥服务", "Seal the key service"},
	"keys.requests":         {"密钥请求（双人控制）", "Key requests (dual control)"},
	"keys.no_requests":      {"暂无密钥请求。", "No key requests."},
	"keys.kind":             {"类型", "Kind"},
	"keys.kind.generate":    {"生成发卡密钥", "Generate issuer keys"},
	"keys.kind.rotate":      {"更换发卡密钥", "Rotate issuer keys"},
	"keys.kind.export":      {"导出（给制卡厂商）", "Export (to a card manufacturer)"},
	"keys.kind.destroy":     {"销毁", "Destroy"},
	"keys.approvals":        {"审批", "Approvals"},
	"keys.new_request":      {"提出密钥请求", "Make a key request"},
	"keys.purpose":          {"用途", "Purpose"},
	"keys.version":          {"版本", "Version"},
	"keys.recipient":        {"接收方 SM2 公钥（PEM，导出时填写）", "Recipient's SM2 public key (PEM, for an export)"},
	"keys.submit_request":   {"提交请求", "Submit the request"},
	"keys.list":             {"密钥（仅元数据）", "Keys (metadata only)"},
	"keys.none":             {"尚无密钥。", "No keys yet."},
}
