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
}
