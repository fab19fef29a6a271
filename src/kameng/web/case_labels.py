"""Display names for refund cases (statuses, reasons, outcomes, timeline events, evidence), and the
after-sales services' error messages marked for the English catalog."""

from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

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

SERVICE_MESSAGES = [
    gettext_noop("售后单不存在"),
    gettext_noop("订单不存在"),
    gettext_noop("证据不存在"),
    gettext_noop("当前角色不能对该售后单执行此操作"),
    gettext_noop("售后单当前状态不允许此操作"),
    gettext_noop("只有买家可以申请售后"),
    gettext_noop("售后原因无效"),
    gettext_noop("请具体描述问题（不超过5000字）"),
    gettext_noop("退款金额必须是正整数（分）"),
    gettext_noop("已超过售后期限"),
    gettext_noop("该订单已有进行中的售后单"),
    gettext_noop("平台已对该订单作出终局裁决，不能再次申请售后"),
    gettext_noop("该商品不支持无理由退款"),
    gettext_noop("部分退款金额必须大于0且小于申请金额"),
    gettext_noop("拒绝退款必须说明理由"),
    gettext_noop("原仲裁员不能处理该申诉"),
    gettext_noop("该案件已由其他仲裁员处理"),
    gettext_noop("裁决结果无效"),
    gettext_noop("请写明裁决理由（至少10个字），并引用所适用的规则"),
    gettext_noop("部分退款/折中金额必须大于0且小于申请金额"),
    gettext_noop("金额超过可退金额"),
    gettext_noop("申诉裁决必须是终局裁决，不能再提出折中方案"),
    gettext_noop("折中方案已被拒绝，本次必须作出有约束力的裁决"),
    gettext_noop("已答复过折中方案"),
    gettext_noop("裁决对你有利，无需接受"),
    gettext_noop("已接受过该裁决"),
    gettext_noop("每个售后单只能申诉一次"),
    gettext_noop("请说明申诉理由"),
    gettext_noop("申诉需要先补充裁决后的新证据"),
    gettext_noop("无权为该售后单上传证据"),
    gettext_noop("证据类别无效"),
    gettext_noop("备注不超过2000个字符"),
    gettext_noop("售后单已结束，不能再补充证据"),
    gettext_noop("请选择要上传的文件"),
    gettext_noop("文件是空的"),
    gettext_noop("只接受 PNG、JPEG、WebP、GIF、MP4、WebM、PDF 或纯文本文件"),
    gettext_noop("文本文件必须是 UTF-8、UTF-16 或 GB18030 编码的纯文本"),
    gettext_noop("文件末尾附带了压缩包，不予接受"),
    gettext_noop("文件中含有网页或脚本内容，不予接受"),
    gettext_noop("PDF 文件不完整"),
    gettext_noop("PDF 中含有脚本、启动动作或嵌入文件，不予接受"),
    gettext_noop("GIF 文件结构无效，或在结束标记之后还有数据"),
    gettext_noop("图片文件已损坏或格式不符"),
    gettext_noop("PNG 文件在结束标记之后还有数据，不予接受"),
    gettext_noop("MP4 文件结构无效"),
    gettext_noop("视频文件中没有视频画面"),
    gettext_noop("视频画面尺寸过大"),
    gettext_noop("视频文件已损坏或格式不符"),
    gettext_noop("文件不能超过 20 MiB"),
]
