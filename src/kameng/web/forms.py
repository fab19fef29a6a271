"""Page forms. They check the shape of input (numbers, required fields) and convert yuan to fen;
the rules themselves live in the services, whose errors are attached back to these fields."""

from decimal import Decimal

from django import forms
from django.utils.translation import gettext_lazy as _

from kameng.catalog.models import DeliveryOrder, ListingKind, ListingStatus

MAX_STOCK_FILE_BYTES = 2 * 1024 * 1024


def fen_from_yuan(value: Decimal) -> int:
    """¥12.34 → 1234. Decimal in, int out: money never becomes a float."""
    return int((value * 100).to_integral_value())


class YuanField(forms.DecimalField):
    """An amount typed in yuan with at most two decimals; `cleaned_data` holds integer fen."""

    def __init__(self, *, max_yuan: int, **kwargs):
        kwargs.setdefault("min_value", Decimal("0.01"))
        kwargs.setdefault("max_value", Decimal(max_yuan))
        super().__init__(max_digits=12, decimal_places=2, **kwargs)
        self.widget.attrs.update({"inputmode": "decimal", "step": "0.01"})

    def clean(self, value):
        amount = super().clean(value)
        return None if amount is None else fen_from_yuan(amount)


class LoginForm(forms.Form):
    username = forms.CharField(
        label=_("用户名"), max_length=150, widget=forms.TextInput(attrs={"autocomplete": "username", "autofocus": True})
    )
    password = forms.CharField(label=_("密码"), widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))
    otp = forms.CharField(
        label=_("动态验证码"),
        required=False,
        max_length=32,
        help_text=_("已启用两步验证的仲裁员和管理员：验证器应用中的 6 位数字，或一个恢复码"),
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


class OtpConfirmForm(forms.Form):
    otp = forms.CharField(
        label=_("动态验证码"),
        max_length=16,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )


class NewPasswordForm(forms.Form):
    """A new password typed twice (registration, the account page); the services judge its strength."""

    password = forms.CharField(
        label=_("密码"),
        help_text=_("至少 8 位，不能全是数字，也不能是常见密码。"),
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label=_("再次输入密码"), widget=forms.PasswordInput(attrs={"autocomplete": "new-password"})
    )

    def clean(self):
        data = super().clean()
        if data.get("password") and data.get("password2") and data["password"] != data["password2"]:
            self.add_error("password2", _("两次输入的密码不一致"))
        return data


class RegisterForm(NewPasswordForm):
    field_order = ["username", "password", "password2", "email", "role"]
    username = forms.CharField(
        label=_("用户名"), max_length=150, widget=forms.TextInput(attrs={"autocomplete": "username"})
    )
    email = forms.CharField(
        label=_("邮箱（选填）"),
        required=False,
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        help_text=_("填写后，订单和售后通知除站内信外也会发到这个邮箱；不填只收站内信。"),
    )
    role = forms.ChoiceField(
        label=_("我要注册为"),
        initial="buyer",
        widget=forms.RadioSelect,
        choices=[("buyer", _("买家：购买卡密、充值、代练等虚拟商品")), ("merchant", _("商家：开店并出售虚拟商品"))],
    )


class EmailChangeForm(forms.Form):
    email = forms.CharField(label=_("新邮箱"), max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    current_password = forms.CharField(
        label=_("当前密码"), widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )


class PasswordChangeForm(NewPasswordForm):
    field_order = ["current_password", "password", "password2"]
    current_password = forms.CharField(
        label=_("当前密码"), widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["password"].label, self.fields["password2"].label = _("新密码"), _("再次输入新密码")


class ShopForm(forms.Form):
    name = forms.CharField(label=_("店铺名称"), max_length=80)
    description = forms.CharField(label=_("店铺介绍"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    contact = forms.CharField(
        label=_("售后联系方式（平台内）"),
        required=False,
        max_length=120,
        help_text=_("例如客服在线时间。请勿填写微信、QQ 等站外联系方式。"),
    )
    response_promise_hours = forms.IntegerField(label=_("问题响应时限（小时）"), min_value=1, max_value=720, initial=1)
    refund_promise_hours = forms.IntegerField(label=_("退款处理时限（小时）"), min_value=1, max_value=720, initial=24)


class ListingForm(forms.Form):
    title = forms.CharField(label=_("商品标题"), max_length=120)
    category = forms.ChoiceField(label=_("类目"))
    kind = forms.ChoiceField(
        label=_("交付方式"),
        choices=ListingKind.choices,
        help_text=_("自动发卡：买家付款后自动从库存发出一条卡密。"),
    )
    price = YuanField(label=_("价格（元）"), max_yuan=100_000_000)
    description = forms.CharField(label=_("商品描述"), required=False, widget=forms.Textarea(attrs={"rows": 6}))
    promises = forms.CharField(
        label=_("服务承诺（每行一条）"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("例如：100%稳定激活、24小时内激活、7×12小时售后。承诺会写入订单快照，作为售后依据。"),
    )
    after_sale_days = forms.IntegerField(label=_("售后期（天）"), min_value=0, max_value=365, initial=7)
    verification_minutes = forms.IntegerField(
        label=_("验货期 / 试用期（分钟）"),
        min_value=0,
        max_value=43200,
        initial=1440,
        help_text=_("发货后经过这段时间，买家未确认也未申请售后时，担保款自动放给商家。"),
    )
    no_reason_refund = forms.BooleanField(
        label=_("支持七日无理由退款"), required=False, help_text=_("定制类商品不适用无理由退款，此项会被忽略。")
    )
    deposit_percent = forms.IntegerField(
        label=_("定金比例（%，可选）"),
        required=False,
        min_value=1,
        max_value=99,
        help_text=_("分阶段付款：下单先付定金，交付时付尾款。自动发卡商品不支持。"),
    )
    status = forms.ChoiceField(label=_("状态"), choices=ListingStatus.choices, initial=ListingStatus.ACTIVE)

    def __init__(self, *args, categories: list[tuple[str, str]], **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = categories  # type: ignore[attr-defined]  # a ChoiceField

    def clean_promises(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data["promises"].splitlines() if line.strip()]


class StockUploadForm(forms.Form):
    text = forms.CharField(
        label=_("粘贴卡密（每行一条）"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false", "autocomplete": "off"}),
    )
    file = forms.FileField(
        label=_("或上传 .txt / .csv / .xlsx 文件"),
        required=False,
        help_text=_("CSV 和 Excel 取每行第一个非空单元格；支持 UTF-8 和 GBK 编码；最大 2 MB。"),
        widget=forms.ClearableFileInput(
            attrs={
                "accept": ".txt,.csv,.xlsx,text/plain,text/csv,"
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "data-file-info": "file-info",
            }
        ),
    )

    def clean_file(self):
        upload = self.cleaned_data.get("file")
        if upload is None:
            return None
        name = (upload.name or "").lower()
        if not name.endswith((".txt", ".csv", ".xlsx")):
            raise forms.ValidationError(_("只支持 .txt、.csv 或 .xlsx 文件"))
        if upload.size > MAX_STOCK_FILE_BYTES:
            raise forms.ValidationError(_("文件不能超过 2 MB"))
        return upload

    def clean(self):
        data = super().clean()
        if not self.errors and not (data.get("text") or "").strip() and not data.get("file"):
            self.add_error("text", _("请粘贴卡密或选择文件"))
        return data


class StockSettingsForm(forms.Form):
    delivery_order = forms.ChoiceField(label=_("发卡顺序"), choices=DeliveryOrder.choices)
    low_stock_threshold = forms.IntegerField(
        label=_("库存预警（条）"),
        min_value=0,
        max_value=10_000,
        help_text=_("可售库存降到这个数时通知你；0 表示不提醒。"),
    )


class StockVoidForm(forms.Form):
    items = forms.CharField(
        label=_("要作废的卡密（每行一条）"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "autocomplete": "off"}),
    )
    all = forms.BooleanField(label=_("作废全部未售卡密"), required=False)

    def clean_items(self) -> list[str]:
        return [line.strip() for line in (self.cleaned_data.get("items") or "").splitlines() if line.strip()]


class StockConfirmForm(forms.Form):
    """The previewed batch travels back as a JSON list, so every line arrives exactly as read."""

    items_text = forms.CharField(widget=forms.HiddenInput)

    def clean_items_text(self) -> list[str]:
        import json

        try:
            items = json.loads(self.cleaned_data["items_text"])
        except ValueError:
            items = None
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise forms.ValidationError(_("预览数据无效，请重新上传"))
        return items


GATEWAY_LABELS = {
    "sandbox": _("沙箱（测试）"),
    "epay": _("易支付"),
    "alipay": _("支付宝"),
    "wechatpay": _("微信支付"),
    "payout": _("沙箱（测试）"),
}


def offer_gateways(field, gateways: list[str]) -> None:
    """The gateways that are on now, the first chosen."""
    assert isinstance(field, forms.ChoiceField)
    field.choices = [(g, GATEWAY_LABELS[g]) for g in gateways]
    field.initial = gateways[0] if gateways else None
    field.required = False  # none chosen: the first


def chosen_gateway(form) -> str:
    return form.cleaned_data.get("gateway") or form.fields["gateway"].initial or ""


class TopupForm(forms.Form):
    amount = YuanField(
        label=_("充值金额（元）"),
        max_yuan=100_000,
        help_text=_("单笔 0.01 至 100,000 元。将跳转到所选支付渠道完成支付。"),
    )
    gateway = forms.ChoiceField(label=_("支付方式"), widget=forms.RadioSelect)

    def clean_gateway(self) -> str:
        return chosen_gateway(self)

    def __init__(self, *args, gateways: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        offer_gateways(self.fields["gateway"], gateways)


class WithdrawalForm(forms.Form):
    amount = YuanField(label=_("提现金额（元）"), max_yuan=1_000_000)
    gateway = forms.ChoiceField(label=_("提现到"), widget=forms.RadioSelect)

    def clean_gateway(self) -> str:
        return chosen_gateway(self)

    account = forms.CharField(
        label=_("收款账号"), max_length=128, required=False, help_text=_("支付宝登录账号，或微信 openid")
    )
    account_name = forms.CharField(label=_("收款人实名"), max_length=64, required=False)

    def __init__(self, *args, gateways: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        offer_gateways(self.fields["gateway"], gateways)


def pay_with_field(gateways: list[str]) -> forms.ChoiceField:
    """How a buyer pays: the wallet at once, or a gateway that is on (a direct checkout)."""
    return forms.ChoiceField(
        label=_("支付方式"),
        choices=[("wallet", _("钱包余额")), *((g, GATEWAY_LABELS[g]) for g in gateways)],
        initial="wallet",
        required=False,  # none chosen: the wallet
        widget=forms.RadioSelect,
        help_text=_("用支付渠道付款时，库存为你保留 15 分钟，超时未付订单自动取消。"),
    )


class BuyForm(forms.Form):
    error_code = ""  # the service's error code after a refused purchase (the page offers a top-up)
    quantity = forms.IntegerField(label=_("购买数量"), min_value=1, max_value=100, initial=1)
    topup_target = forms.CharField(
        label=_("充值账号"),
        required=False,
        max_length=120,
        help_text=_("直充商品会充值到这个账号（如手机号、游戏 ID）。"),
    )
    accept_special_terms = forms.BooleanField(
        label=_("我已阅读并同意以上特殊商品条款"), required=False, initial=False
    )  # never ticked by default: 实施条例第十九条

    def __init__(self, *args, listing, gateways=(), **kwargs):
        super().__init__(*args, **kwargs)
        if gateways:  # direct checkout: the wallet or a configured gateway
            self.fields["pay_with"] = pay_with_field(list(gateways))
        if listing.kind != "card_key":
            del self.fields["quantity"]  # one per order for everything not delivered from stock
        if listing.kind != "direct_topup":
            del self.fields["topup_target"]
        else:
            self.fields["topup_target"].required = True
        if not listing.special_terms:
            del self.fields["accept_special_terms"]
        else:
            # The browser asks first; the service refuses anyway if the box was not ticked.
            self.fields["accept_special_terms"].widget.attrs["required"] = True


class GuestBuyForm(BuyForm):
    """免注册购买: the buy form without an account: a contact, a query password, a gateway (no wallet)."""

    contact = forms.CharField(
        label=_("联系方式"),
        max_length=120,
        help_text=_("邮箱或手机号。填邮箱时，卡密也会发到你的邮箱。"),
    )
    query_password = forms.CharField(
        label=_("查询密码"),
        min_length=6,
        max_length=64,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("6 到 64 个字符。凭订单号和查询密码查单、联系商家、申请售后，请牢记。"),
    )

    def __init__(self, *args, listing, gateways, **kwargs):
        super().__init__(*args, listing=listing, gateways=gateways, **kwargs)
        field = self.fields["pay_with"] = pay_with_field(gateways)
        field.choices = field.choices[1:]  # no wallet without an account
        field.initial, field.required = (gateways[0] if gateways else None), True


class GuestLookupForm(forms.Form):
    """查单: the order number and the query password chosen at purchase."""

    number = forms.CharField(label=_("订单号"), max_length=32)
    query_password = forms.CharField(label=_("查询密码"), max_length=64, widget=forms.PasswordInput)


class MessageForm(forms.Form):
    body = forms.CharField(
        label=_("留言内容"),
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 3, "data-submit-shortcut": "ctrl+enter"}),
        help_text=_("留言不可修改或删除，会作为售后证据保存。"),
    )


class DeliverForm(forms.Form):
    content = forms.CharField(
        label=_("交付内容"),
        max_length=20000,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text=_("账号密码、充值凭证、服务完成说明等。只有买家和你能看到。"),
    )


class ChannelForm(forms.Form):
    kind = forms.CharField(widget=forms.HiddenInput)
    url = forms.CharField(
        label=_("通知地址"),
        max_length=1000,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )


WEBHOOK_EVENT_CHOICES = [
    ("order.paid", _("订单已付款")),
    ("order.delivered", _("订单已发货")),
    ("order.completed", _("订单已完成（放款）")),
    ("refund.opened", _("售后单已创建")),
    ("refund.updated", _("售后单有进展")),
    ("refund.closed", _("售后单已结束")),
    ("withdrawal.paid", _("提现已打款")),
]


class WebhookForm(forms.Form):
    url = forms.CharField(
        label=_("接收地址（公网 https）"),
        max_length=1000,
        widget=forms.URLInput(attrs={"autocomplete": "off", "placeholder": "https://"}),
    )
    events = forms.MultipleChoiceField(
        label=_("订阅事件"), choices=WEBHOOK_EVENT_CHOICES, widget=forms.CheckboxSelectMultiple
    )
