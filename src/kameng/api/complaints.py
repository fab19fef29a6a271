"""Complaint package endpoints: the ZIP for an external channel, and which channels need what."""

from typing import Annotated

from django.http import HttpResponse
from ninja import Router

from kameng.complaints import services
from kameng.complaints.rules import CHANNELS
from kameng.errors import Error

from .contract import Out, PathId, download, enum_of, raises

router = Router(tags=["complaints"])

Channel = Annotated[str, enum_of(*CHANNELS)]
ZIP_RESPONSE = download(
    "application/zip",
    "ZIP with complaint.pdf, complaint.txt, evidence/… and manifest.json (SHA-256 of each file). "
    "The header Kameng-Missing-Fields lists the buyer's profile fields left blank in the documents.",
)
ZIP_RESPONSE["responses"][200]["headers"] = {
    "Kameng-Missing-Fields": {
        "description": "Comma-separated profile fields still blank in the documents",
        "schema": {"type": "string"},
    }
}


class ChannelOut(Out):
    channel: Channel
    available: bool
    reason: str  # why it is (or is not) available, one sentence
    title: str
    document: str
    recipient: str
    when_to_use: str
    missing_fields: list[str]
    missing_labels: list[str]


class ChannelsOut(Out):
    data: list[ChannelOut]


@router.get("/refunds/{case_id}/complaint", openapi_extra=ZIP_RESPONSE)
@raises(Error.CASE_NOT_FOUND, Error.COMPLAINT_BUYER_ONLY, Error.COMPLAINT_CHANNEL_INVALID)
@raises(Error.COMPLAINT_CHANNEL_UNAVAILABLE)
def complaint_package(request, case_id: PathId, channel: Channel):
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


@router.get("/refunds/{case_id}/complaint/channels", response=ChannelsOut)
@raises(Error.CASE_NOT_FOUND, Error.COMPLAINT_BUYER_ONLY)
def complaint_channels(request, case_id: PathId):
    """The four channels: {channel, available, reason}, when to use each, and the profile fields each still needs."""
    case = services.complaint_case_for(case_id, request.auth)
    return {"data": services.channels_for(case)}
