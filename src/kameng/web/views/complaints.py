"""The buyer's complaint page: pick a channel, fill the missing details, read the text, download the ZIP."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse

from kameng.accounts.services import PROFILE_LIMITS, update_profile
from kameng.complaints import services
from kameng.complaints.rules import CHANNELS, PROFILE_FIELDS
from kameng.errors import DomainError, ErrorKind


class ProfileForm(forms.Form):
    real_name = forms.CharField(
        label=PROFILE_FIELDS["real_name"], required=False, max_length=PROFILE_LIMITS["real_name"]
    )
    phone = forms.CharField(label=PROFILE_FIELDS["phone"], required=False, max_length=PROFILE_LIMITS["phone"])
    address = forms.CharField(label=PROFILE_FIELDS["address"], required=False, max_length=PROFILE_LIMITS["address"])


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
                messages.success(request, "已保存你的联系信息，维权材料已更新。")
                return redirect(page_url)
    else:
        form = ProfileForm(initial={name: getattr(user, name) for name in PROFILE_FIELDS})
    channels = services.channels_for(case)
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
