"""Complaint package endpoints: the ZIP for an external channel, and which channels need what."""

from django.http import HttpResponse
from ninja import Router

from kameng.complaints import services

router = Router(tags=["complaints"])

ZIP_RESPONSE = {
    "responses": {
        200: {
            "description": "ZIP with complaint.pdf, complaint.txt, evidence/… and manifest.json (SHA-256 of each file). "
            "The header Kameng-Missing-Fields lists the buyer's profile fields left blank in the documents.",
            "content": {"application/zip": {"schema": {"type": "string", "format": "binary"}}},
        },
    },
}


@router.get("/refunds/{case_id}/complaint", openapi_extra=ZIP_RESPONSE)
def complaint_package(request, case_id: str, channel: str = ""):
    """The buyer's complaint package for `channel` = 12315 | arbitration | court | police
    (arbitration: 409 channel_unavailable unless the user agreement has an arbitration clause)."""
    case = services.complaint_case_for(case_id, request.auth)
    channel = services.check_available(channel)
    data = services.ready_package(case, channel)  # stored ahead by the page's build_complaint job, or built now
    response = HttpResponse(data, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{services.package_filename(case, channel)}"'
    response["Kameng-Missing-Fields"] = ",".join(services.missing_profile_fields(request.auth, channel))
    response["Cache-Control"] = "no-store"
    return response


@router.get("/refunds/{case_id}/complaint/channels", response=dict)
def complaint_channels(request, case_id: str):
    """The four channels: {channel, available, reason}, when to use each, and the profile fields each still needs."""
    case = services.complaint_case_for(case_id, request.auth)
    return {"data": services.channels_for(case)}
