"""Forms of the refund-case, arbitration and operator pages, and how each case action looks on
the pages (ACTION_PAGES). Forms check the shape of input and turn yuan into fen
(kameng.web.forms.YuanField: decimal strings, never floats); the rules themselves stay in the
lifecycle table, whose refusals are attached back to these fields."""

from dataclasses import dataclass

from django import forms
from django.utils.functional import Promise
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from kameng.aftersales.models import Outcome, Reason

from .case_labels import EVIDENCE_CATEGORIES, REASON_HELP
from .forms import YuanField
from .templatetags.kameng_web import yuan

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


def _reason_choices(no_reason_allowed: bool, in_warranty: bool = False) -> list[tuple[str, StrOrPromise]]:
    allowed = {Reason.NO_REASON: no_reason_allowed, Reason.RECLAIMED: in_warranty}
    reasons = [r for r in Reason if allowed.get(r, True)]
    return [(r.value, format_lazy(_("{0}：{1}"), r.label, REASON_HELP[r.value])) for r in reasons]


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

    def __init__(self, *args, refundable: int, no_reason_allowed: bool, in_warranty: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.refundable = refundable
        self.fields["reason"].choices = _reason_choices(no_reason_allowed, in_warranty)  # type: ignore[attr-defined]  # a ChoiceField
        self.fields["evidence"].widget.attrs["data-max-bytes"] = str(20 * 1024 * 1024)

    def clean_amount(self):
        amount = self.cleaned_data["amount"]
        if amount is not None and amount > self.refundable:
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


class ReplaceForm(forms.Form):
    content = forms.CharField(
        label=_("补发内容"),
        required=False,
        max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("卡密商品无需填写：平台自动从库存发出新的卡密。其他商品请填写新的账号、充值凭证或交付内容。"),
    )


class RejectForm(forms.Form):
    reason = forms.CharField(
        label=_("拒绝理由"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("请说明理由并补充证据。无理拒绝会被平台改判，并影响店铺信用。"),
    )


class EscalateForm(forms.Form):
    reason = forms.CharField(
        label=_("为什么申请平台介入"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("一两句话即可，例如：激活码仍然无效，商家的部分退款不足以弥补损失。仲裁员会先读到它。"),
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
        help_text=_("每个售后单只能申诉一次，将由另一位仲裁员复核并作出终局裁决。"),
    )
    evidence = MultipleFileField(
        label=_("裁决之后的新证据"),
        required=False,
        help_text=_("申诉需要裁决之后的新证据：在这里一并上传（已经上传过的可以不再上传）。"),
    )
    UPLOADS = ("evidence",)  # files added to the case's evidence (as problem proof) before the action


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
    rule = forms.ChoiceField(
        label=_("适用规则"),
        required=False,
        help_text=_("选择裁决所依据的平台规则（规则页有每条规则的说明）；本类目的退款标准排在最前。"),
    )

    def __init__(self, *args, allow_compromise: bool = True, rules: list[tuple[str, str]] = (), **kwargs):  # type: ignore[assignment]
        super().__init__(*args, **kwargs)
        choices = [(o.value, o.label) for o in Outcome if o != Outcome.COMPROMISE or allow_compromise]
        self.fields["outcome"].choices = choices  # type: ignore[attr-defined]  # a ChoiceField
        self.fields["rule"].choices = [("", _("（不引用具体规则）")), *rules]  # type: ignore[attr-defined]
        if rules and not self.is_bound:
            self.initial.setdefault("rule", rules[0][0])  # the case's own category rule, first

    def clean(self):
        data = super().clean()
        if data.get("outcome") in ("refund_partial", "compromise") and not data.get("amount"):
            self.add_error("amount", _("部分退款或折中方案需要填写金额"))
        if data.get("outcome") in ("refund_full", "no_refund"):
            data["amount"] = None
        return data


# ---- how each case action looks on the pages -------------------------------------------------------------


@dataclass(frozen=True)
class Confirm:
    """The confirmation page of an irreversible action. `warning` may name %(a)s (the amount the
    action moves) and %(o)s (the standing decision's outcome)."""

    title: str | Promise
    warning: str | Promise
    button: str | Promise
    advice: str | Promise | None = None


@dataclass(frozen=True)
class Choice:
    """One answer to an action taken by choosing (a link per answer, each confirmed first)."""

    value: str
    label: str | Promise
    confirm: Confirm
    style: str = ""


@dataclass(frozen=True)
class ActionPage:
    """A case action on the parties' case page (the buttons appear in this table's order, only where the
    lifecycle offers the action to this party now). `label` and `intro` may name %(a)s, the amount the
    action moves. With a `form` and no `choices`, its fields sit on the case page (prefixed with the action)."""

    done: str | Promise  # the message once it is done
    label: str | Promise = ""
    style: str = ""  # the button's class
    help: str | Promise | None = None
    form: type[forms.Form] | None = None
    confirm: Confirm | None = None  # irreversible: a confirmation page first
    choices: tuple[Choice, ...] = ()  # answered by choosing: the form's one field takes the choice's value
    intro: str | Promise | None = None
    on_case_page: bool = True  # claim is taken from the queue and the review page

    @property
    def confirms(self) -> bool:
        return self.confirm is not None or bool(self.choices)

    @property
    def inline(self) -> bool:
        """Its form is filled on the case page (so its fields carry the action's prefix)."""
        return self.form is not None and not self.choices

    def confirm_for(self, value: str | None) -> Confirm | None:
        """The confirmation of the choice made (`value`), or the action's own."""
        for choice in self.choices:
            if choice.value == value:
                return choice.confirm
        return self.confirm


ACTION_PAGES: dict[str, ActionPage] = {
    "accept": ActionPage(
        label=_("同意退款 %(a)s"),
        style="btn-primary",
        help=_("退款立即从担保款退回买家，下一步会再确认一次。"),
        confirm=Confirm(
            _("同意退款"),
            _("同意后，平台将立即把 %(a)s 从担保款退回买家钱包，此操作不可撤销。"),
            _("确认同意退款"),
            advice=_("如果你认为问题不成立，请返回并拒绝或提出部分退款，同时补充证据。"),
        ),
        done=_("已同意退款，款项已退回买家钱包。"),
    ),
    "offer": ActionPage(label=_("提出部分退款"), form=OfferForm, done=_("已提出部分退款方案，等待买家答复。")),
    "reject": ActionPage(
        label=_("拒绝退款"), style="btn-danger", form=RejectForm, done=_("已拒绝退款申请，等待买家答复。")
    ),
    "replace": ActionPage(
        label=_("补发商品"),
        form=ReplaceForm,
        help=_("发出新的卡密或交付内容代替退款；买家确认可用后售后单结束，不退款。"),
        done=_("已补发商品，等待买家确认。"),
    ),
    "accept_replacement": ActionPage(
        label=_("接受补发"),
        style="btn-primary",
        confirm=Confirm(
            _("接受补发"),
            _("确认补发的商品可以正常使用。接受后售后单结束，不退款，担保款按时放给商家。此操作不可撤销。"),
            _("确认接受补发"),
            advice=_("如果补发的商品仍然无法使用，请返回并申请平台介入。"),
        ),
        done=_("已接受补发，售后单已结束。"),
    ),
    "accept_offer": ActionPage(  # deliberately no primary style: settling low must not look like the default
        label=_("接受部分退款 %(a)s"),
        confirm=Confirm(
            _("接受部分退款"),
            _("接受后，%(a)s 将立即退回你的钱包，售后单结束，不能再申请平台介入。此操作不可撤销。"),
            _("确认接受"),
        ),
        done=_("已接受部分退款，款项已退回你的钱包。"),
    ),
    "escalate": ActionPage(
        label=_("申请平台介入"),
        help=_("由平台仲裁员根据双方证据和类目退款标准作出裁决。"),
        form=EscalateForm,
        confirm=Confirm(
            _("申请平台介入"),
            _(
                "平台仲裁员将根据双方证据和类目退款标准作出裁决，结果可能高于也可能低于商家的方案。申请后不能再接受商家的方案。"
            ),
            _("确认申请平台介入"),
        ),
        done=_("已申请平台介入，仲裁员将在时限内作出裁决。"),
    ),
    "respond_compromise": ActionPage(
        form=CompromiseForm,
        intro=_("仲裁员提出折中方案：退款 %(a)s。双方都同意后立即生效；任何一方不同意，由仲裁员作出有约束力的裁决。"),
        choices=(
            Choice(
                "1",
                _("同意折中方案"),
                Confirm(
                    _("同意折中方案"),
                    _("同意退款 %(a)s 的折中方案。双方都同意后方案立即生效并退款，不可撤销。"),
                    _("确认同意"),
                ),
                style="btn-primary",
            ),
            Choice(
                "0",
                _("不同意"),
                Confirm(
                    _("不同意折中方案"), _("不同意后，折中方案作废，由仲裁员作出有约束力的裁决。"), _("确认不同意")
                ),
            ),
        ),
        done=_("已答复折中方案。"),
    ),
    "accept_decision": ActionPage(
        label=_("接受裁决"),
        help=_("接受后裁决立即生效，不再等待申诉期。"),
        confirm=Confirm(
            _("接受裁决"),
            _("接受后裁决立即生效（%(o)s，退款 %(a)s），你将放弃申诉的权利。此操作不可撤销。"),
            _("确认接受裁决"),
        ),
        done=_("已接受裁决，裁决已生效。"),
    ),
    "appeal": ActionPage(label=_("提起申诉"), form=AppealForm, done=_("已提起申诉，将由另一位仲裁员复核。")),
    "withdraw": ActionPage(
        label=_("撤回申请"),
        style="btn-danger",
        confirm=Confirm(
            _("撤回售后申请"),
            _("撤回后本次售后申请结束，平台不再处理，冻结的担保款恢复正常放款。此操作不可撤销。"),
            _("确认撤回"),
        ),
        done=_("已撤回售后申请。"),
    ),
    "claim": ActionPage(done=_("已接手该案件。"), on_case_page=False),
}


def filled(text: str | Promise | None, *, amount: int | None = None, outcome: str = "") -> str:
    """A page text with the action's amount (in yuan) and the decision's outcome put in."""
    if text is None:
        return ""
    text = str(text)
    return text % {"a": yuan(amount), "o": outcome} if "%(" in text else text


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
    fast_track_appeal_hours = forms.IntegerField(label=_("小额快速通道申诉期（小时）"), min_value=1, max_value=720)
    deadline_reminder_hours = forms.IntegerField(label=_("截止前提醒（小时）"), min_value=1, max_value=168)
    default_verification_minutes = forms.IntegerField(label=_("默认验货期（分钟）"), min_value=0, max_value=43200)
    default_after_sale_days = forms.IntegerField(label=_("默认售后期（天）"), min_value=0, max_value=365)


class CategoryRuleForm(forms.Form):
    rule = forms.CharField(label=_("退款标准（中文）"), max_length=500, widget=forms.Textarea(attrs={"rows": 2}))
    rule_en = forms.CharField(
        label=_("退款标准（英文）"), max_length=500, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    ratios = forms.CharField(
        label=_("退款比例"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("每行一条：中文场景 | 英文场景 | 比例（如 100% 或“未交付里程碑金额”），最多 10 行"),
    )


class SanctionsForm(forms.Form):
    """商家信用处罚阈值: each grade's lowest score and the overturned refusals that suspend a shop."""

    grade_a = forms.IntegerField(label=_("A 级最低分"), min_value=1, max_value=100)
    grade_b = forms.IntegerField(label=_("B 级最低分"), min_value=1, max_value=100)
    grade_c = forms.IntegerField(
        label=_("C 级最低分"), min_value=1, max_value=100, help_text=_("低于此分为 D 级：有商家责任记录时限制流量")
    )
    grade_d = forms.IntegerField(
        label=_("D 级最低分"), min_value=1, max_value=100, help_text=_("低于此分为 E 级：有商家责任记录时清退")
    )
    suspend_after = forms.IntegerField(
        label=_("清退：近90天拒绝退款后被推翻次数"), min_value=1, max_value=20, help_text=_("达到此次数即清退")
    )


class CommissionForm(forms.Form):
    """Issue 17.6: the platform's commission per category (basis points) and the settlement delay T+N."""

    settlement_days = forms.IntegerField(
        label=_("结算周期 T+N 的 N（天）"),
        min_value=0,
        max_value=30,
        help_text=_("放款后过 N 天才能提现；0 表示放款即可提现"),
    )

    def __init__(self, *args, categories: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        for code, name in categories:
            self.fields[f"bp_{code}"] = forms.IntegerField(
                label=_("%(name)s 佣金（基点）") % {"name": name},
                min_value=0,
                max_value=5000,
                help_text=_("100 基点 = 1%，最多 5000（50%）；在放款时从商家所得中扣除"),
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


class ArbitratorForm(forms.Form):
    """A new arbitrator account (the staff page; the password rules are the registration's)."""

    username = forms.CharField(label=_("用户名"), max_length=150)
    password = forms.CharField(
        label=_("初始密码"),
        widget=forms.PasswordInput(render_value=False),
        help_text=_("至少 10 位；请当面或通过安全渠道交给仲裁员，并提醒其首次登录后修改。"),
    )
