"""Display names for refund cases (statuses, reasons, outcomes, timeline events, evidence)."""

from django.utils.translation import gettext_lazy as _

CASE_STATUS = {
    "awaiting_merchant": _("待商家处理"),
    "awaiting_buyer": _("待买家答复"),
    "in_arbitration": _("平台仲裁中"),
    "decided": _("已裁决"),
    "in_appeal": _("申诉复核中"),
    "closed": _("已结束"),
}

REASONS = {
    "not_as_described": _("描述不符"),
    "defective": _("功能缺陷"),
    "service_missing": _("服务缺失"),
    "no_reason": _("无理由退款"),
}

REASON_HELP = {
    "not_as_described": _("收到的商品与下单时的描述或承诺不一致"),
    "defective": _("商品无法正常使用，例如激活码无效、账号无法登录"),
    "service_missing": _("商家承诺的服务（如售后、代练进度）没有提供"),
    "no_reason": _("该商品支持七日无理由退款"),
}

OUTCOMES = {
    "refund_full": _("全额退款"),
    "refund_partial": _("部分退款"),
    "no_refund": _("不予退款"),
    "compromise": _("折中方案"),
}

RESOLUTIONS = {
    "refund_full": _("全额退款"),
    "refund_partial": _("部分退款"),
    "no_refund": _("不予退款"),
    "withdrawn": _("买家撤回"),
}

EVENTS = {
    "opened": _("买家申请售后"),
    "evidence_added": _("补充证据"),
    "accept": _("商家同意退款"),
    "offer": _("商家提出部分退款"),
    "reject": _("商家拒绝退款"),
    "withdraw": _("买家撤回申请"),
    "merchant_timeout": _("商家超时未处理"),
    "accept_offer": _("买家接受部分退款"),
    "escalate": _("买家申请平台介入"),
    "buyer_timeout": _("买家超时未答复，按撤回处理"),
    "claimed": _("仲裁员接手"),
    "decide": _("仲裁员作出裁决"),
    "respond_compromise": _("答复折中方案"),
    "compromise_timeout": _("折中方案超时，退回仲裁员"),
    "accept_decision": _("接受裁决"),
    "appeal": _("提起申诉"),
    "appeal_timeout": _("申诉期结束，裁决生效"),
    "refunded": _("退款到账"),
    "decision_overdue": _("仲裁超过时限"),
}

ACTORS = {
    "buyer": _("买家"),
    "merchant": _("商家"),
    "arbitrator": _("仲裁员"),
    "admin": _("平台运营"),
    "system": _("系统"),
}

# The four dimensions (四个维度) of a case's evidence chain, in the order the review reads them.
EVIDENCE_CATEGORIES = {
    "listing": _("商品承诺（快照）"),
    "transaction": _("交易记录"),
    "communication": _("沟通记录"),
    "problem": _("问题证明"),
}

EVIDENCE_SOURCES = {
    "buyer": _("买家上传"),
    "merchant": _("商家上传"),
    "system": _("平台生成"),
}

# Running deadlines: the case field, what it is, and whose move it waits for.
DEADLINES = (
    ("merchant_respond_by", _("商家处理截止"), "merchant"),
    ("buyer_respond_by", _("买家答复截止"), "buyer"),
    ("decide_by", _("仲裁裁决截止"), "arbitrator"),
    ("compromise_respond_by", _("折中方案答复截止"), "both"),
    ("appeal_by", _("申诉截止（之后裁决生效）"), "both"),
)

# What the evidence assist found (kameng.evidence.rules.PHRASES and the recording check).
FINDING_KINDS = {
    "activation_failed": _("激活失败"),
    "already_used": _("已被使用"),
    "account_banned": _("账号被封"),
    "amount_short": _("到账不足"),
    "not_received": _("未到账"),
    "playback_failed": _("无法播放"),
    "login_failed": _("登录失败"),
    "account_recovered": _("账号被找回"),
    "disconnect": _("掉线"),
    "expired": _("已过期"),
    "trial_version": _("试用版"),
    "no_response": _("无人回复"),
    "error_code": _("错误代码"),
    "http_error": _("HTTP 错误"),
    "recording_elements": _("截图/录屏四要素"),
}
