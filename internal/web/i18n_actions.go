package web

// The messages of the portal's confirmations, its notices after an action, the card desk's search
// and window services, and the key requests' names; merged into messages at start-up.
var actionMessages = map[string][2]string{
	"login.guide": {"办事指南：参保、缴费、社保卡与待遇怎么办（无需登录）", "Service guide: enrolment, contributions, cards and benefits (no login needed)"},

	"confirm.understood": {"我已了解此操作不能撤销", "I understand this cannot be undone"},
	"confirm.cancel":     {"取消，返回", "Cancel and go back"},

	"confirm.card_loss.title":     {"确认正式挂失", "Confirm the final loss report"},
	"confirm.card_loss.what":      {"正式挂失后，这张社保卡将永久停用，不能解除挂失；如需用卡，请申请补领。", "After a final loss report this card stops for good and cannot be unlocked; apply for a replacement to get a card again."},
	"confirm.card_loss.button":    {"确认正式挂失", "Report the card lost for good"},
	"confirm.card_replace.title":  {"确认补换卡", "Confirm the replacement"},
	"confirm.card_replace.what":   {"补换卡会立即停用这张卡，并为您提交一张新卡的申领。", "A replacement stops this card at once and applies for a new card for you."},
	"confirm.card_replace.button": {"停用此卡并申领新卡", "Stop this card and apply for a new one"},
	"confirm.desk_cancel.title":   {"确认注销社保卡", "Confirm the cancellation"},
	"confirm.desk_cancel.what":    {"注销后这张卡永久失效，不能恢复。请核对持卡人和卡号。", "A cancelled card is void for good and cannot be restored. Check the holder and the card number."},
	"confirm.desk_cancel.button":  {"注销此卡", "Cancel this card"},
	"confirm.desk_replace.title":  {"确认为持卡人补换卡", "Confirm the replacement for the holder"},
	"confirm.desk_replace.what":   {"补换卡会立即停用这张卡，并为持卡人提交一张新卡的申领。", "A replacement stops this card at once and applies for a new card for its holder."},
	"confirm.desk_replace.button": {"停用此卡并申领新卡", "Stop this card and apply for a new one"},
	"confirm.keys_seal.title":     {"确认封存密钥服务", "Confirm sealing the key service"},
	"confirm.keys_seal.what":      {"封存后，制卡、卡片认证、电子社保卡和证明签名都将停止，直到全部保管员重新录入各自的分量。", "Once sealed, card production, card authentication, electronic cards and certificate signatures stop until every custodian enters their component again."},
	"confirm.keys_seal.button":    {"封存密钥服务", "Seal the key service"},

	"flash.card_applied":      {"已提交社保卡申领，申请编号 %s。", "Your card application %s is in."},
	"flash.card_photo":        {"照片已提交。", "The photo is in."},
	"flash.card_activated":    {"社保卡已启用。", "The card is active."},
	"flash.card_temp_lost":    {"已临时挂失。找到卡后可解除挂失。", "The card is reported temporarily lost. Unlock it when you find it."},
	"flash.card_unlocked":     {"已解除挂失，社保卡恢复使用。", "The card is unlocked and usable again."},
	"flash.card_lost":         {"社保卡 %s 已正式挂失。", "Card %s is reported lost for good."},
	"flash.card_replaced":     {"已停用原卡并申领新卡，申请编号 %s。", "The old card is stopped and a new one applied for: %s."},
	"flash.ecard":             {"已领取电子社保卡。", "You have the electronic card."},
	"flash.card_approved":     {"已通过 %s 的社保卡申领。", "The card application of %s is approved."},
	"flash.card_rejected":     {"已驳回 %s 的社保卡申领。", "The card application of %s is rejected."},
	"flash.card_collected":    {"卡已交付给 %s。", "Card handed over to %s."},
	"flash.card_pin_reset":    {"已为 %s 重置社保卡密码。", "The PIN of %s's card is reset."},
	"flash.card_temporary":    {"已发放临时卡 %s 给 %s。", "Temporary card %s issued to %s."},
	"flash.card_cancelled":    {"已注销 %s 的社保卡。", "The card of %s is cancelled."},
	"flash.card_replaced_for": {"已停用 %s 的原卡并申领新卡，申请编号 %s。", "The old card of %s is stopped and a new one applied for: %s."},
	"flash.batch_created":     {"已生成制卡批次 #%s，共 %s 张。", "Production batch #%s made: %s cards."},
	"flash.batch_result":      {"已导入批次 #%s 的制卡结果：%s 张。", "The result of batch #%s is in: %s cards."},
	"flash.batch_distributed": {"%s 张卡已配送至 %s。", "%s cards sent to %s."},
	"flash.keys_component":    {"分量已录入（%s / %s）。", "Component entered (%s of %s)."},
	"flash.keys_unsealed":     {"全部分量已录入，密钥服务已解封。", "Every component is in: the key service is unsealed."},
	"flash.keys_sealed":       {"密钥服务已封存。", "The key service is sealed."},
	"flash.keys_requested":    {"已提交密钥请求 #%s，等待其他保管员审批。", "Key request #%s is made; other custodians approve it."},
	"flash.keys_approved":     {"已审批密钥请求 #%s（%s / %s）。", "Key request #%s approved (%s of %s)."},
	"flash.keys_done":         {"密钥请求 #%s 已获足够审批并执行。", "Key request #%s has its approvals and is carried out."},
	"flash.keys_withdrawn":    {"已撤回密钥请求 #%s。", "Key request #%s is withdrawn."},

	"cards.search":          {"身份证号、姓名、卡号或申请编号", "ID number, name, card or application number"},
	"cards.search_button":   {"查找", "Search"},
	"cards.search_clear":    {"清除查找", "Clear the search"},
	"cards.temporary":       {"发放临时卡", "Issue a temporary card"},
	"cards.temporary_text":  {"临时卡当场启用，在政策规定的天数内有效，无金融功能。请先核验身份证。", "A temporary card is active at once, valid for the policy's days, with no bank function. Check the ID card first."},
	"cards.temporary_issue": {"核验并发放临时卡", "Check and issue"},
	"cards.pin_reset":       {"重置密码", "Reset the PIN"},
	"cards.replace":         {"补换卡", "Replace"},
	"cards.cancel":          {"注销", "Cancel the card"},

	"mycard.replace":                {"补领或换领", "Replace the card"},
	"mycard.replace_text":           {"原卡会立即停用，并为您申领一张新卡。", "Your card stops at once and a new one is applied for."},
	"mycard.replace_reason":         {"原因", "Reason"},
	"mycard.replace_reason.damaged": {"卡片损坏", "Card damaged"},
	"mycard.replace_reason.lost":    {"卡片遗失", "Card lost"},
	"mycard.replace_reason.renewal": {"到期换领", "Due for renewal"},

	"keys.withdraw":                {"撤回", "Withdraw"},
	"keys.purpose.all":             {"全部发卡密钥（生成、更换时）", "Every issuer key (generate, rotate)"},
	"keys.purpose.kek":             {"密钥加密密钥", "Key-encryption key"},
	"keys.purpose.card_master":     {"卡片主密钥", "Card master key"},
	"keys.purpose.internal_auth":   {"内部认证密钥", "Internal authentication key"},
	"keys.purpose.external_auth":   {"外部认证密钥", "External authentication key"},
	"keys.purpose.pin":             {"PIN 密钥", "PIN key"},
	"keys.purpose.transaction_mac": {"交易 MAC 密钥", "Transaction MAC key"},
	"keys.purpose.signing":         {"SM2 签名密钥", "SM2 signing key"},
	"keys.status.pending":          {"待审批", "Waiting for approval"},
	"keys.status.done":             {"已执行", "Carried out"},
	"keys.status.failed":           {"执行失败", "Failed"},
	"keys.status.withdrawn":        {"已撤回", "Withdrawn"},
	"keys.kstatus.active":          {"在用", "In use"},
	"keys.kstatus.retired":         {"已停用（仍可验证）", "Retired (still verifies)"},
	"keys.kstatus.destroyed":       {"已销毁", "Destroyed"},
}

func init() {
	for k, v := range actionMessages {
		if _, dup := messages[k]; dup {
			panic("web: message " + k + " is defined twice")
		}
		messages[k] = v
	}
}
