"""The buyer's complaint page: pick a channel, fill the missing details, read the text, download the ZIP."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from kameng.accounts.services import PROFILE_LIMITS, update_profile
from kameng.complaints import services
from kameng.complaints.rules import CHANNELS, PROFILE_FIELDS
from kameng.errors import DomainError, ErrorKind
from kameng.policy.laws import ARBITRATION_4, COMPLAINT_14, COMPLAINT_21, SMALL_CLAIMS


class ProfileForm(forms.Form):
    real_name = forms.CharField(label=_lazy("姓名"), required=False, max_length=PROFILE_LIMITS["real_name"])
    phone = forms.CharField(label=_lazy("联系电话"), required=False, max_length=PROFILE_LIMITS["phone"])
    address = forms.CharField(label=_lazy("通讯地址"), required=False, max_length=PROFILE_LIMITS["address"])


def _reason(channel: str, available: bool, reason: str) -> str:
    """Why a channel is (not) available: complaints' Chinese sentence, or its English version."""
    if not (get_language() or "").startswith("en"):
        return reason
    commission = settings.ARBITRATION_COMMISSION
    if channel == "arbitration" and not available:
        return (
            "The platform's user agreement has no arbitration clause, and an arbitration commission only takes "
            f"cases with a written arbitration agreement ({ARBITRATION_4.cite_en}), so no arbitration application is offered; "
            "please choose the small-claims court instead."
        )
    english = {
        "arbitration": (
            f"The platform's user agreement lets the buyer choose arbitration by {commission} "
            "(an optional clause: you may also sue in court)."
        ),
        "court": (
            f"Small money disputes with clear facts go to the small-claims procedure ({SMALL_CLAIMS.cite_en}); you can file "
            "online through the People's Court Online Service."
        ),
        "12315": (
            f"The market regulator decides within seven working days whether to accept the complaint ({COMPLAINT_14.cite_en}) "
            f"and ends its mediation if no agreement is reached within forty-five working days ({COMPLAINT_21.cite_en})."
        ),
        "police": (
            "Report only a suspected fraud (false advertising, taking payment without delivering, "
            "taking back an account already sold)."
        ),
    }
    return english.get(channel, reason)


def _shown(channel: dict) -> dict:
    """A channel of complaints.services.channels_for in the active language."""
    return {
        **channel,
        "title": _(channel["title"]),
        "document": _(channel["document"]),
        "recipient": _(channel["recipient"]),
        "when_to_use": _(channel["when_to_use"]),
        "reason": _reason(channel["channel"], channel["available"], channel["reason"]),
        "missing_text": _("、").join(_(label) for label in channel["missing_labels"]),
    }


def _case_for(case_id, user):
    try:
        return services.complaint_case_for(case_id, user)
    except DomainError as exc:
        if exc.kind == ErrorKind.PERMISSION_DENIED:
            raise PermissionDenied(exc.message()) from None
        raise Http404(exc.message()) from None


@login_required
def complaint_page(request, case_id: int):
    case = _case_for(case_id, request.user)
    channel = request.GET.get("channel") or "12315"
    if channel not in CHANNELS:
        channel = "12315"
    page_url = f"{reverse('complaints:page', args=[case.pk])}?channel={channel}"
    user = request.user
    if request.method == "POST":
        form = ProfileForm(request.POST)
        if form.is_valid():
            try:
                update_profile(user, **form.cleaned_data)
            except DomainError as exc:
                form.add_error(exc.param if exc.param in form.fields else None, exc.message())
            else:
                messages.success(request, _("已保存你的联系信息，维权材料已更新。"))
                return redirect(page_url)
    else:
        form = ProfileForm(initial={name: getattr(user, name) for name in PROFILE_FIELDS})
    channels = [_shown(c) for c in services.channels_for(case)]
    current = next(c for c in channels if c["channel"] == channel)
    services.prepare_soon(case, channel)  # the download usually follows: build the package off this request
    return render(
        request,
        "web/complaints/complaint.html",
        {
            "case": case,
            "order": case.order,
            "channels": channels,
            "current": current,
            "channel": channel,
            "preview": services.preview_text(case, channel) if current["available"] else "",
            "form": form,
            "download_url": f"{reverse('complaints:download', args=[case.pk])}?channel={channel}",
        },
    )


@login_required
def complaint_download(request, case_id: int):
    case = _case_for(case_id, request.user)
    channel = request.GET.get("channel", "")
    if channel not in CHANNELS:
        return HttpResponseBadRequest(
            "channel 必须是 12315、arbitration、court 或 police 之一", content_type="text/plain; charset=utf-8"
        )
    available, reason = services.availability(channel)
    if not available:
        return HttpResponse(reason, status=409, content_type="text/plain; charset=utf-8")
    response = HttpResponse(services.ready_package(case, channel), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{services.package_filename(case, channel)}"'
    response["Cache-Control"] = "no-store"
    return response
