"""The merchant's integrations page: one notification URL per channel with "send test", the
sending log with "resend", webhooks with their deliveries log and "resend"."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kameng.errors import DomainError
from kameng.notify import channels, webhooks
from kameng.notify.models import ChannelKind

from ..forms import ChannelForm, WebhookForm
from ..pages import attach_error, error_text, role_required

merchant_only = role_required("merchant")

EXAMPLES = {
    ChannelKind.EMAIL: "mailtos://user:password@smtp.example.com?to=you@example.com",
    ChannelKind.TELEGRAM: "tgram://bottoken/chat_id",
    ChannelKind.WECOM: "wecombot://botkey",
    ChannelKind.DINGTALK: "dingtalk://token/",
    ChannelKind.BARK: "barks://api.day.app/device_key",
    ChannelKind.SERVERCHAN: "schan://sendkey",
    ChannelKind.JSON: "jsons://example.com/notify",
}


@merchant_only
def integrations(request):
    user = request.user
    saved = {c.kind: c for c in channels.channels_of(user)}
    channel_form, webhook_form = None, WebhookForm()
    if request.method == "POST" and request.POST.get("step") == "channel":
        channel_form = ChannelForm(request.POST)
        if channel_form.is_valid():
            try:
                channels.save_channel(user, **channel_form.cleaned_data)
            except DomainError as exc:
                attach_error(channel_form, exc)
            else:
                messages.success(request, _("通知渠道已保存。可以点“发送测试”试一下。"))
                return redirect("merchant-integrations")
    elif request.method == "POST" and request.POST.get("step") == "webhook":
        webhook_form = WebhookForm(request.POST)
        if webhook_form.is_valid():
            try:
                endpoint = webhooks.create_endpoint(user, **webhook_form.cleaned_data)
            except DomainError as exc:
                attach_error(webhook_form, exc)
            else:
                messages.success(
                    request, _("Webhook 已创建。签名密钥（只显示这一次）：%(secret)s") % {"secret": endpoint.secret}
                )
                return redirect("merchant-integrations")
    rows = [
        {
            "kind": kind,
            "label": kind.label,
            "saved": channels.masked(saved[kind].url) if kind in saved else "",
            "example": EXAMPLES[kind],
            "form": channel_form if channel_form is not None and channel_form.data.get("kind") == kind else None,
        }
        for kind in ChannelKind
    ]
    endpoints = [(e, list(webhooks.deliveries_of(e)[:10])) for e in webhooks.endpoints_of(user)]
    context = {
        "channels": rows,
        "dispatches": channels.dispatches_of(user)[:20],
        "webhook_form": webhook_form,
        "endpoints": endpoints,
    }
    return render(request, "web/merchant/integrations.html", context)


def _back(request, action) -> None:
    try:
        action()
    except DomainError as exc:
        messages.error(request, error_text(exc))


@merchant_only
@require_POST
def channel_test(request, kind: str):
    def send():
        channels.send_test(request.user, kind)
        messages.success(request, _("测试通知已发出，结果见下方发送记录。"))

    _back(request, send)
    return redirect("merchant-integrations")


@merchant_only
@require_POST
def channel_delete(request, kind: str):
    _back(request, lambda: channels.remove_channel(request.user, kind))
    return redirect("merchant-integrations")


@merchant_only
@require_POST
def dispatch_resend(request, dispatch_id: int):
    _back(request, lambda: channels.resend(request.user, dispatch_id))
    return redirect("merchant-integrations")


@merchant_only
@require_POST
def webhook_delete(request, endpoint_id: int):
    _back(request, lambda: webhooks.delete_endpoint(request.user, endpoint_id))
    return redirect("merchant-integrations")


@merchant_only
@require_POST
def delivery_resend(request, endpoint_id: int, delivery_id: int):
    _back(request, lambda: webhooks.resend(request.user, endpoint_id, delivery_id))
    return redirect("merchant-integrations")
