"""Display names the refund-case pages add: what each reason covers, evidence categories and
sources, the running deadlines, the evidence assist's findings. (Statuses, reasons, outcomes,
resolutions and actors carry their labels on their enums in kameng.aftersales.models; the timeline's
event labels are the lifecycle's EVENTS table.)"""

from django.utils.translation import gettext_lazy as _

REASON_HELP = {
    "not_as_described": _("收到的商品与下单时的描述或承诺不一致"),
    "defective": _("商品无法正常使用，例如激活码无效、账号无法登录"),
    "service_missing": _("商家承诺的服务（如售后、代练进度）没有提供"),
    "no_reason": _("该商品支持七日无理由退款"),
    "reclaimed": _("游戏账号在找回包赔期内被原主找回，快速处理"),
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

# What the evidence assist found (kameng.arbitration.rules.PHRASES and the recording check).
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
