package web

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/shebao/shebao/internal/errs"
)

// An error's words in the page's language. The services write their errors in English for the
// API and the logs (errs.Error's Message and Fields); a page shows them through here: field keys
// become the fields' names, and each problem its Chinese text from problemsZH, matched exactly or,
// for a message formatted with values, by its format string (a value that is itself a field key
// or a state code is shown by its name too). A message the catalogue lacks is shown in Chinese by
// its kind (errsZH), never in English on a Chinese page; TestEveryErrorHasChineseWords keeps the
// catalogue complete for every message the code writes literally.

// fieldLabels names the fields that have no form label of their own ("f." messages).
var fieldLabels = map[string][2]string{
	"action":                                {"操作", "Action"},
	"amount":                                {"金额", "Amount"},
	"application_no":                        {"申领编号", "Application number"},
	"bank":                                  {"银行", "Bank"},
	"base":                                  {"缴费基数", "Contribution base"},
	"birth_date":                            {"出生日期", "Date of birth"},
	"card_id":                               {"卡识别码", "Card identifier"},
	"id":                                    {"编号", "Number"},
	"material_id":                           {"材料编号", "Material number"},
	"card_number":                           {"卡号", "Card number"},
	"category":                              {"类别", "Category"},
	"claim":                                 {"待遇申请", "Claim"},
	"code":                                  {"编码", "Code"},
	"component":                             {"密钥分量", "Key component"},
	"components":                            {"密钥分量", "Key components"},
	"contribution_months":                   {"缴费月数", "Months contributed"},
	"count":                                 {"数量", "Count"},
	"current_password":                      {"当前密码", "Current password"},
	"cursor":                                {"翻页游标", "Cursor"},
	"custodians":                            {"密钥保管员", "Key custodians"},
	"date":                                  {"日期", "Date"},
	"direction":                             {"方向", "Direction"},
	"display_name":                          {"显示名称", "Display name"},
	"employer_uscc":                         {"单位统一社会信用代码", "Employer's unified social credit code"},
	"enrolment_categories":                  {"参保类别", "Enrolment categories"},
	"expect_head":                           {"预期的审计链头", "Expected audit head"},
	"file":                                  {"文件", "File"},
	"from":                                  {"起始", "From"},
	"gender":                                {"性别", "Gender"},
	"group":                                 {"组别", "Group"},
	"idempotency_key":                       {"幂等键（Idempotency-Key）", "Idempotency key"},
	"identity":                              {"身份凭证", "Identity"},
	"institution":                           {"定点医药机构", "Institution"},
	"institution_code":                      {"定点医药机构编码", "Institution code"},
	"items":                                 {"费用明细", "Items"},
	"key_version":                           {"密钥版本", "Key version"},
	"kind":                                  {"类型", "Kind"},
	"level":                                 {"医院等级", "Hospital level"},
	"to_region":                             {"转入统筹区", "Region moving to"},
	"limit":                                 {"条数上限", "Limit"},
	"lines":                                 {"明细行", "Lines"},
	"mode":                                  {"方式", "Mode"},
	"month":                                 {"月份", "Month"},
	"operator_phone":                        {"操作员手机号码", "Operator's phone"},
	"outlet":                                {"服务网点", "Service outlet"},
	"outlet_code":                           {"网点编码", "Outlet code"},
	"outlet_name":                           {"网点名称", "Outlet name"},
	"outlet_address":                        {"网点地址", "Outlet address"},
	"paid_on":                               {"缴费日期", "Paid on"},
	"password":                              {"密码", "Password"},
	"password2":                             {"确认密码", "Password again"},
	"payer":                                 {"缴费方", "Payer"},
	"payload":                               {"证明数据", "Payload"},
	"photo":                                 {"照片", "Photo"},
	"pin":                                   {"密码（PIN）", "PIN"},
	"pin2":                                  {"确认密码（PIN）", "PIN again"},
	"policy":                                {"政策参数", "Policy"},
	"presented_id_number":                   {"出示的身份证号码", "ID number presented"},
	"purpose":                               {"用途", "Purpose"},
	"q":                                     {"查询内容", "Search"},
	"qr":                                    {"二维码", "QR code"},
	"reason":                                {"原因", "Reason"},
	"region":                                {"统筹区", "Region"},
	"regions":                               {"统筹区", "Regions"},
	"registered_on":                         {"登记日期", "Registered on"},
	"registration":                          {"登记", "Registration"},
	"removal":                               {"减员", "Removal"},
	"result":                                {"结果", "Result"},
	"role":                                  {"角色", "Role"},
	"roles":                                 {"角色", "Roles"},
	"seeking_work":                          {"求职登记", "Seeking work"},
	"serial":                                {"证明编号", "Serial number"},
	"status":                                {"状态", "Status"},
	"to":                                    {"截止", "To"},
	"user":                                  {"用户", "User"},
	"username":                              {"用户名", "Username"},
	"version":                               {"版本", "Version"},
	"year":                                  {"年度", "Year"},
	"from_month":                            {"起始月份", "From month"},
	"materials":                             {"材料", "Materials"},
	"materials.hukou_book":                  {"户口簿", "Household register (hukou book)"},
	"materials.id_card":                     {"居民身份证", "Resident identity card"},
	"materials.photo":                       {"照片", "Photo"},
	"materials.application":                 {"申请表", "Application form"},
	"materials.residence":                   {"居住证", "Residence permit"},
	"identity.medical_card":                 {"医保卡卡号", "Medical insurance card number"},
	"identity.ecard_qr":                     {"电子社保卡二维码", "Electronic card QR code"},
	"use_account":                           {"使用个人账户", "Use the personal account"},
	"start_month":                           {"起始月份", "Start month"},
	"end_month":                             {"终止月份", "End month"},
	"termination_date":                      {"离职日期", "Termination date"},
	"chip_serial":                           {"芯片序列号", "Chip serial"},
	"atr":                                   {"复位应答（ATR）", "Answer to reset (ATR)"},
	"totp":                                  {"动态验证码", "One-time code"},
	"code_totp":                             {"动态验证码", "One-time code"},
	"bank_card":                             {"银行卡号", "Bank card number"},
	"identity.social_security_card":         {"社会保障卡", "Social security card"},
	"identity.social_security_card.atc":     {"社会保障卡交易计数器（ATC）", "Card transaction counter (ATC)"},
	"identity.social_security_card.card_id": {"社会保障卡识别码", "Card identifier"},
	"identity.social_security_card.cryptogram":           {"社会保障卡密文", "Card cryptogram"},
	"identity.social_security_card.key_version":          {"社会保障卡密钥版本", "Card key version"},
	"identity.social_security_card.unpredictable_number": {"终端随机数", "Terminal's unpredictable number"},
}

// policyLabel names a policy key (a dotted path in the policy's JSON): by the key itself, which is
// what the administrator edits.
func (l lang) policyLabel(key string) string {
	if l == en {
		return "policy " + key
	}
	return "政策参数 " + key
}

// policySections are the first parts of policy keys.
var policySections = []string{"benefits.", "bureau.", "cards.", "contributions.", "keys.", "uploads.", "medical.", "enrolment."}

var (
	indexInField = regexp.MustCompile(`\[(\d+)\]`)
	han          = regexp.MustCompile(`\p{Han}`)
)

// FieldLabel is a field's name for a person: its form label, its entry here, a policy key as
// itself, and a field of the nth item of a list ("items[2].amount") as the list's, the item's
// number and the field's.
func (l lang) FieldLabel(name string) string {
	if m, ok := messages["f."+name]; ok {
		return l.pick(m[0], m[1])
	}
	if m, ok := fieldLabels[name]; ok {
		return l.pick(m[0], m[1])
	}
	if loc := indexInField.FindStringSubmatchIndex(name); loc != nil {
		n, _ := strconv.Atoi(name[loc[2]:loc[3]])
		list, rest := name[:loc[0]], strings.TrimPrefix(name[loc[1]:], ".")
		item := fmt.Sprintf("%s第 %d 项", l.FieldLabel(list), n+1)
		if l == en {
			item = fmt.Sprintf("%s, item %d", l.FieldLabel(list), n+1)
		}
		if rest == "" {
			return item
		}
		return item + l.pick(" · ", ", ") + l.FieldLabel(rest)
	}
	for _, p := range policySections {
		if strings.HasPrefix(name, p) {
			return l.policyLabel(name)
		}
	}
	if i := strings.LastIndexByte(name, '.'); i > 0 {
		if m, ok := fieldLabels[name[i+1:]]; ok {
			return l.pick(m[0], m[1])
		}
	}
	return name
}

// errsZH is what a Chinese page says of an error whose message the catalogue lacks, by its kind.
var errsZH = map[errs.Code]string{
	errs.Invalid:      "提交的内容不符合要求，请检查后重试。",
	errs.BadRequest:   "请求的格式有误。",
	errs.Unauthorized: "请先登录，或登录已过期。",
	errs.Forbidden:    "您无权进行此操作。",
	errs.NotFound:     "未找到所请求的内容。",
	errs.BadMethod:    "不支持此操作方式。",
	errs.Conflict:     "此操作与当前状态冲突，请刷新后查看。",
	errs.TooMany:      "请求过于频繁，请稍后再试。",
	errs.Unavailable:  "服务暂时不可用，请稍后再试。",
	errs.Internal:     "系统内部错误，请稍后再试。",
}

// zhPattern is a catalogue entry whose English is a format string: the English as a pattern with a
// group for each value, and the Chinese with %s (or %[n]s) where the values go.
type zhPattern struct {
	re *regexp.Regexp
	zh string
}

var (
	zhPatterns []zhPattern
	verb       = regexp.MustCompile(`%(\[\d+\])?[-+# 0]*\d*(\.\d+)?[sdvqxXc]`)
)

func init() {
	var keys []string
	for en := range problemsZH {
		if verb.MatchString(en) && en != "%s" {
			keys = append(keys, en)
		}
	}
	// The most specific pattern first: the one with the most fixed text.
	sort.Slice(keys, func(i, j int) bool {
		li, lj := len(verb.ReplaceAllString(keys[i], "")), len(verb.ReplaceAllString(keys[j], ""))
		if li != lj {
			return li > lj
		}
		return keys[i] < keys[j]
	})
	for _, en := range keys {
		parts := verb.Split(en, -1)
		var b strings.Builder
		b.WriteString("^")
		for i, p := range parts {
			if i > 0 {
				b.WriteString("(.+?)")
			}
			b.WriteString(regexp.QuoteMeta(strings.ReplaceAll(p, "%%", "%")))
		}
		b.WriteString("$")
		zhPatterns = append(zhPatterns, zhPattern{re: regexp.MustCompile(b.String()), zh: verb.ReplaceAllStringFunc(problemsZH[en], func(v string) string {
			if m := verb.FindStringSubmatch(v); m[1] != "" {
				return "%" + m[1] + "s"
			}
			return "%s"
		})})
	}
}

// problemZH is an English problem or message in Chinese, and whether the catalogue has it.
func (l lang) problemZH(en string) (string, bool) {
	if zh, ok := problemsZH[en]; ok && !verb.MatchString(en) {
		return zh, true
	}
	for _, p := range zhPatterns {
		m := p.re.FindStringSubmatch(en)
		if m == nil {
			continue
		}
		args := make([]any, 0, len(m)-1)
		for _, v := range m[1:] {
			args = append(args, l.valueName(v))
		}
		return fmt.Sprintf(p.zh, args...), true
	}
	return "", false
}

// valueName shows a value put into a message: a field key, a list of them, a state or another code
// by its name; anything else as it is.
func (l lang) valueName(v string) string {
	if strings.Contains(v, ", ") {
		parts := strings.Split(v, ", ")
		for i, p := range parts {
			parts[i] = l.valueName(p)
		}
		return strings.Join(parts, l.pick("、", ", "))
	}
	bare := strings.Trim(v, `"`)
	if label := l.FieldLabel(bare); label != bare {
		return label
	}
	if l != en {
		if text, ok := l.problemZH(v); ok {
			return text // a message within the message
		}
	}
	for _, prefix := range []string{"cstate.", "mstate.", "status.", "role.", "ins.", "caction.", "cause.", "level.", "benefit.", "act."} {
		if m, ok := messages[prefix+bare]; ok {
			return l.pick(m[0], m[1])
		}
	}
	return v
}

// Problem is a field's problem in the language.
func (l lang) Problem(problem string) string {
	if l == en || han.MatchString(problem) { // a problem the page worded already
		return problem
	}
	if zh, ok := l.problemZH(problem); ok {
		return zh
	}
	return errsZH[errs.Invalid]
}

// ErrorText is what a page says of an error: for errors of fields, the fields by name with their
// problems; otherwise the message, in the language.
func (l lang) ErrorText(e *errs.Error) string {
	if e == nil {
		return ""
	}
	if len(e.Fields) > 0 && len(e.Rows) == 0 {
		names := make([]string, 0, len(e.Fields))
		for n := range e.Fields {
			names = append(names, n)
		}
		sort.Strings(names)
		parts := make([]string, 0, len(names))
		for _, n := range names {
			parts = append(parts, l.FieldLabel(n)+l.pick("：", ": ")+l.Problem(e.Fields[n]))
		}
		return l.pick("请检查：", "Please check: ") + strings.Join(parts, l.pick("；", "; "))
	}
	if l == en || han.MatchString(e.Message) {
		return e.Message
	}
	if e.Code == errs.Internal {
		if _, id, ok := strings.Cut(e.Message, "(request "); ok {
			return "系统内部错误，请稍后再试（请求编号 " + strings.TrimSuffix(id, ")") + "）。"
		}
	}
	if zh, ok := l.problemZH(e.Message); ok {
		return zh
	}
	if zh, ok := errsZH[e.Code]; ok {
		return zh
	}
	return errsZH[errs.Internal]
}
