package web

// The certificate's messages: the public verification page and the portal's certificate page.
func init() {
	for k, m := range certificateMessages {
		messages[k] = m
	}
}

var certificateMessages = map[string][2]string{
	"menu.certificates": {"参保证明", "Certificates"},

	"verify.title":  {"参保证明核验", "Check a certificate"},
	"verify.intro":  {"输入参保证明上二维码下方的证明编号，或扫描二维码，核验证明是否由社保经办机构出具、内容是否被改动、是否仍在有效期内。", "Type the serial printed under the certificate's QR code, or scan the code, to check that the bureau issued it, that nothing in it was changed and that it is still valid."},
	"verify.serial": {"证明编号（18位数字）", "Serial (18 digits)"},
	"verify.check":  {"核验", "Check"},
	"verify.masked": {"为保护个人信息，此处姓名只显示姓氏，身份证号部分隐藏，不显示缴费金额；证明上的全部内容（含金额）由电子签名保护。", "To protect personal data, names show only the surname, ID numbers are partly hidden and amounts are not shown; everything on the certificate, amounts included, is covered by its electronic signature."},

	"verify.verdict.valid":      {"真实有效", "Genuine and valid"},
	"verify.verdict.expired":    {"真实，但已过有效期", "Genuine, but no longer valid"},
	"verify.verdict.not_issued": {"未找到：不是真实的证明", "Not found: not a genuine certificate"},
	"verify.verdict.altered":    {"不是真实的证明：内容已被改动", "Not genuine: its content was changed"},
	"verify.verdict.damaged":    {"无法核验：记录已损坏", "Cannot be checked: the record is damaged"},
	"verify.explain.valid":      {"该证明由社保经办机构出具，电子签名与内容一致，且在有效期内。请核对下列内容与纸面证明一致。", "The bureau issued this certificate, its electronic signature matches its content and it is still valid. Check that what follows agrees with the paper."},
	"verify.explain.expired":    {"该证明由社保经办机构出具且未被改动，但已超过有效期，请申请人重新开具。", "The bureau issued this certificate and it is unchanged, but its validity has ended; ask for a new one."},
	"verify.explain.not_issued": {"社保经办机构没有出具过该编号的证明。请核对编号；如编号无误，该证明是伪造的。", "The bureau issued no certificate with this serial. Check the serial; if it is right, the certificate is forged."},
	"verify.explain.altered":    {"电子签名与证明内容不符：证明被改动过，或不是由本统筹区的签名密钥签署。", "The electronic signature does not match the content: the certificate was changed, or was not signed with this region's signing key."},
	"verify.explain.damaged":    {"该证明的记录或其签名密钥无法读取，请联系社保经办机构。", "The certificate's record or its signing key cannot be read; please contact the bureau."},

	"cert.title":         {"参保证明", "Certificates of insurance"},
	"cert.intro":         {"选择证明期间，下载带电子签名和核验二维码的参保证明（PDF），有效期90天。", "Choose the period and download the certificate of insurance (PDF), electronically signed and with a QR code to check it; it is valid for 90 days."},
	"cert.kind.person":   {"个人参保证明", "Certificate of insurance"},
	"cert.kind.employer": {"单位参保证明", "Employer's certificate for its staff"},
	"cert.from":          {"起始月份", "From month"},
	"cert.to":            {"截止月份", "To month"},
	"cert.month_hint":    {"月份写作6位数字，如 202601。", "Months are six digits, such as 202601."},
	"cert.issue":         {"出具证明（PDF）", "Issue the certificate (PDF)"},
	"cert.download":      {"下载参保证明（PDF）", "Download the certificate (PDF)"},
	"cert.verify_link":   {"核验一份参保证明", "Check a certificate"},
	"cert.for_person":    {"为此人出具参保证明", "Issue this person's certificate"},
	"cert.for_staff":     {"出具单位参保证明", "Certificate for our staff"},
	"cert.serial":        {"证明编号", "Serial"},
	"cert.gender":        {"性别", "Gender"},
	"cert.gender.male":   {"男", "Male"},
	"cert.gender.female": {"女", "Female"},
	"cert.period":        {"证明期间", "Period"},
	"cert.issued_by":     {"出具机构", "Issued by"},
	"cert.issued_on":     {"出具日期", "Issued on"},
	"cert.valid_until":   {"有效期至", "Valid until"},
	"cert.coverage":      {"各险种缴费情况", "Contributions by insurance"},
	"cert.staff":         {"参保职工", "Staff insured"},
	"cert.months":        {"缴费月数", "Months paid"},
	"cert.periods":       {"缴费期间", "Months"},
	"cert.payers":        {"缴费单位", "Paid by"},
	"cert.own_payment":   {"个人缴费", "Own payment"},

	"cert.bad":           {"请修改标出的内容。", "Please correct what is marked."},
	"cert.bad.serial":    {"证明编号是18位数字，印在二维码下方。", "The serial is 18 digits, printed under the QR code."},
	"cert.bad.from":      {"起始月份写作6位数字（如 202601），期间不超过50年。", "The first month is six digits (such as 202601); the period is at most fifty years."},
	"cert.bad.to":        {"截止月份写作6位数字，不早于起始月份，不晚于本月。", "The last month is six digits, not before the first and not after this month."},
	"cert.bad.year":      {"年份从1990年到今年。", "A year from 1990 to this one."},
	"cert.bad.id_number": {"请填写有效的18位公民身份号码。", "Give a valid 18-character ID number."},
	"cert.bad.uscc":      {"请填写有效的18位统一社会信用代码。", "Give a valid 18-character unified social credit code."},
	"cert.bad.other":     {"此项有误。", "This is not right."},
	"cert.font":          {"证明所用字体无法显示姓名或单位名称中的个别字，请到经办窗口办理。", "The certificate's font cannot print a character of a name in it; please ask at the service window."},
	"verify.too_many":    {"核验次数过多，请几分钟后再试。", "Too many checks from your address; please try again in a few minutes."},

	"rights.title": {"个人权益记录", "Personal rights record"},
	"rights.intro": {"每年一份：逐月缴费（已缴、未缴）、养老和医疗个人账户的变动与余额、医疗结算和待遇发放（PDF）。", "One a year: contributions month by month (paid or unpaid), the pension and medical personal accounts' movements and balances, medical settlements and benefits paid (PDF)."},
	"rights.year":  {"%d 年个人权益记录（PDF）", "Personal rights record %d (PDF)"},
}
