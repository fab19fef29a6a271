"""Serving stored files (evidence) from whichever storage is configured.

On the filesystem the bytes stream through the app. On S3 the app never proxies them: it
answers with a redirect to a presigned URL that expires in KAMENG_S3_URL_EXPIRE seconds and
makes the store itself send `Content-Disposition: attachment` and the recorded content type.
"""

import io

from django.http import FileResponse, HttpResponse, HttpResponseRedirect
from django.utils.http import content_disposition_header

# Evidence is hostile input: never let a browser render or sniff it inline.
SAFE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cache-Control": "private, no-store",
}


def is_s3(storage) -> bool:
    """Whether `storage` (or the LazyObject default_storage) is django-storages' S3Storage.

    Decided from the class's modules so the embedded setup never imports boto3 (over a second).
    """
    return any(
        cls.__module__ == "storages.backends.s3" and cls.__name__ == "S3Storage" for cls in storage.__class__.__mro__
    )


def presigned_download_url(fieldfile, filename: str, content_type: str, *, expire: int | None = None) -> str:
    """A short-lived GET URL for a private object that downloads as `filename`."""
    return fieldfile.storage.url(
        fieldfile.name,
        parameters={
            "ResponseContentDisposition": content_disposition_header(True, filename),
            "ResponseContentType": content_type,
        },
        expire=expire,
    )


def download_response(stored, filename: str, content_type: str) -> HttpResponse | FileResponse:
    """The answer to "give me this stored file" as an attachment named `filename`. `stored` is a
    FieldFile, or the bytes themselves (an evidence item held in its row, `Evidence.stored()`).

    S3: 302 to a presigned URL. Anything else: the bytes, streamed.
    """
    response: HttpResponse | FileResponse
    if isinstance(stored, bytes):
        response = FileResponse(io.BytesIO(stored), as_attachment=True, filename=filename, content_type=content_type)
    elif is_s3(stored.storage):
        response = HttpResponseRedirect(presigned_download_url(stored, filename, content_type))
    else:
        response = FileResponse(stored.open("rb"), as_attachment=True, filename=filename, content_type=content_type)
    for header, value in SAFE_HEADERS.items():
        response[header] = value
    return response
