"""Forms of the refund-case, arbitration and operator pages. They check the shape of input and
turn yuan into fen (kameng.web.forms.YuanField: decimal strings, never floats); the rules
themselves stay in the services, whose errors are attached back to these fields."""

from django import forms
from django.utils.functional import Promise
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from .case_labels import EVIDENCE_CATEGORIES, OUTCOMES, REASON_HELP, REASONS
from .forms import YuanField

StrOrPromise = str | Promise
MAX_EVIDENCE_FILES = 5
EVIDENCE_ACCEPT = "image/png,image/jpeg,image/webp,image/gif,video/mp4,video/webm,application/pdf,text/plain"


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files from one input; `cleaned_data` holds a list (empty when none was chosen)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": EVIDENCE_ACCEPT}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        if isinstance(data, (list, tuple)):
            files = [super(MultipleFileField, self).clean(d, initial) for d in data if d]
        else:
            files = [super().clean(data, initial)] if data else []
        if self.required and not files:
            raise forms.ValidationError(self.error_messages["required"], code="required")
        if len(files) > MAX_EVIDENCE_FILES:
            raise forms.ValidationError(_("一次最多上传 %(n)d 个文件") % {"n": MAX_EVIDENCE_FILES})
        return files


def _reason_choices(no_reason_allowed: bool) -> list[tuple[str, StrOrPromise]]:
    codes = [c for c in REASONS if c != "no_reason" or no_reason_allowed]
    return [(c, format_lazy(_("{0}：{1}"), REASONS[c], REASON_HELP[c])) for c in codes]


class OpenCaseForm(forms.Form):
    reason = forms.ChoiceField(label=_("售后原因"), widget=forms.RadioSelect)
    description = forms.CharField(
        label=_("问题描述"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("请写清楚遇到了什么问题、何时发生、提示了什么错误。描述越具体，处理越快。"),
    )
    amount = YuanField(label=_("申请退款金额（元）"), max_yuan=100_000_000)
    evidence = MultipleFileField(
        label=_("问题证据（截图、录屏、错误提示）"),
        required=False,
        help_text=_(
            "支持 PNG、JPEG、WebP、GIF、MP4、WebM、PDF 和纯文本，每个文件不超过 20 MiB，一次最多 5 个。"
            "商品快照、交易记录和聊天记录由平台自动附上。"
        ),
    )
    note = forms.CharField(
        label=_("证据说明"), required=False, max_length=2000, help_text=_("例如：截图中的错误代码出现在激活第二步。")
    )

    def __init__(self, *args, refundable: int, no_reason_allowed: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.refundable = refundable
        self.fields["reason"].choices = _reason_choices(no_reason_allowed)  # type: ignore[attr-defined]  # a ChoiceField
        self.fields["evidence"].widget.attrs["data-max-bytes"] = str(20 * 1024 * 1024)

    def clean_amount(self):
        amount = self.cleaned_data["amount"]
        if amount is not None and amount > self.refundable:
            from kameng.web.templatetags.kameng_web import yuan

            raise forms.ValidationError(_("退款金额不能超过可退金额 %(max)s") % {"max": yuan(self.refundable)})
        return amount


class EvidenceForm(forms.Form):
    file = forms.FileField(
        label=_("证据文件"),
        widget=forms.ClearableFileInput(attrs={"accept": EVIDENCE_ACCEPT}),
        help_text=_("PNG、JPEG、WebP、GIF、MP4、WebM、PDF 或纯文本，不超过 20 MiB。"),
    )
    category = forms.ChoiceField(
        label=_("证据类别"), initial="problem", choices=[(k, v) for k, v in EVIDENCE_CATEGORIES.items()]
    )
    note = forms.CharField(
        label=_("证据说明"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].widget.attrs["data-max-bytes"] = str(20 * 1024 * 1024)


class OfferForm(forms.Form):
    amount = YuanField(
        label=_("部分退款金额（元）"),
        max_yuan=100_000_000,
        help_text=_("必须小于买家申请的金额。买家可以接受、申请平台介入或撤回。"),
    )


class RejectForm(forms.Form):
    reason = forms.CharField(
        label=_("拒绝理由"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("请说明理由并补充证据。无理拒绝会被平台改判，并影响店铺信用。"),
    )


class CompromiseForm(forms.Form):
    accept = forms.TypedChoiceField(
        label=_("是否同意折中方案"),
        coerce=lambda v: v == "1",
        choices=[("1", _("同意")), ("0", _("不同意"))],
        widget=forms.RadioSelect,
    )


class AppealForm(forms.Form):
    reason = forms.CharField(
        label=_("申诉理由"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("每个售后单只能申诉一次，并需先上传裁决之后的新证据；将由另一位仲裁员复核并作出终局裁决。"),
    )


class DecideForm(forms.Form):
    outcome = forms.ChoiceField(label=_("裁决结果"), widget=forms.RadioSelect)
    amount = YuanField(
        label=_("退款金额（元）"),
        max_yuan=100_000_000,
        required=False,
        help_text=_("部分退款或折中方案时填写，须小于申请金额。全额退款和不予退款无需填写。"),
    )
    rationale = forms.CharField(
        label=_("裁决理由"),
        min_length=10,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("至少 10 个字。写明认定的事实、引用的证据和适用的规则；双方都会看到。"),
    )

    def __init__(self, *args, allow_compromise: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [(k, v) for k, v in OUTCOMES.items() if k != "compromise" or allow_compromise]
        self.fields["outcome"].choices = choices  # type: ignore[attr-defined]  # a ChoiceField

    def clean(self):
        data = super().clean()
        if data.get("outcome") in ("refund_partial", "compromise") and not data.get("amount"):
            self.add_error("amount", _("部分退款或折中方案需要填写金额"))
        if data.get("outcome") in ("refund_full", "no_refund"):
            data["amount"] = None
        return data


# ---- operator ----------------------------------------------------------------------------------


class DeadlinesForm(forms.Form):
    """The policy's numbers (kameng.policy.defaults), each one saved through set_policy."""

    merchant_respond_hours = forms.IntegerField(label=_("商家处理时限（小时）"), min_value=1, max_value=720)
    buyer_respond_days = forms.IntegerField(label=_("买家答复时限（天）"), min_value=1, max_value=90)
    arbitration_working_days = forms.IntegerField(label=_("仲裁时限（工作日）"), min_value=1, max_value=30)
    fast_track_hours = forms.IntegerField(label=_("小额快速通道仲裁时限（小时）"), min_value=1, max_value=240)
    fast_track_threshold_fen = YuanField(label=_("小额快速通道金额上限（元，不含）"), max_yuan=1_000_000)
    compromise_respond_hours = forms.IntegerField(label=_("折中方案答复时限（小时）"), min_value=1, max_value=720)
    appeal_days = forms.IntegerField(label=_("申诉期（天）"), min_value=1, max_value=90)
    deadline_reminder_hours = forms.IntegerField(label=_("截止前提醒（小时）"), min_value=1, max_value=168)
    default_verification_minutes = forms.IntegerField(label=_("默认验货期（分钟）"), min_value=0, max_value=43200)
    default_after_sale_days = forms.IntegerField(label=_("默认售后期（天）"), min_value=0, max_value=365)


class CategoryRuleForm(forms.Form):
    rule = forms.CharField(label=_("退款标准（中文）"), max_length=500, widget=forms.Textarea(attrs={"rows": 2}))
    rule_en = forms.CharField(
        label=_("退款标准（英文）"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class HolidayForm(forms.Form):
    date = forms.DateField(
        label=_("日期"), widget=forms.DateInput(attrs={"type": "date"}), help_text=_("格式：2031-10-01")
    )
    name = forms.CharField(label=_("名称"), max_length=64, required=False, help_text=_("例如：国庆节、国庆节调休"))
    is_workday = forms.BooleanField(
        label=_("调休上班日（周末但需上班）"),
        required=False,
        help_text=_("不勾选表示放假（不计工作日）；勾选表示这一天按工作日计算。"),
    )
