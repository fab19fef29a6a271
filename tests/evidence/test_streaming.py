"""The 20 MiB limit holds while the upload streams in, whatever Content-Length says, and memory
stays flat: a request body produced on the fly is fed straight to the WSGI handler."""

import tracemalloc

from django.test.client import ClientHandler

from kameng.evidence.models import Evidence

from .conftest import stored_files

MiB = 1024 * 1024
BOUNDARY = "kamengboundary"


class EndlessUpload:
    """A multipart body whose file part never ends: it is generated as it is read, never held."""

    def __init__(self, filler: bytes = b"0123456789abcdef" * 4096):
        self.head = (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="category"\r\n\r\nproblem\r\n'
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="huge.txt"\r\n'
            f"Content-Type: text/plain\r\n\r\n"
        ).encode()
        self.filler = filler
        self.sent = 0

    def read(self, size=-1):
        size = 64 * 1024 if size is None or size < 0 else size
        if self.sent < len(self.head):
            out = self.head[self.sent : self.sent + size]
        else:
            offset = (self.sent - len(self.head)) % len(self.filler)
            out = (self.filler[offset:] + self.filler)[:size]
        self.sent += len(out)
        return out

    def readline(self, size=-1):
        return self.read(size)


def _post(case_id, token, body, content_length):
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": f"/api/v1/refunds/{case_id}/evidence",
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "wsgi.url_scheme": "http",
        "wsgi.input": body,
        "CONTENT_TYPE": f"multipart/form-data; boundary={BOUNDARY}",
        "CONTENT_LENGTH": str(content_length),
        "HTTP_AUTHORIZATION": f"Bearer {token}",
        "REMOTE_ADDR": "127.0.0.1",
    }
    return ClientHandler(enforce_csrf_checks=False)(environ)


def test_an_endless_upload_is_cut_off_after_20_mib_with_flat_memory(settings, tmp_path, buyer, case, media_root):
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path / "uploads")
    (tmp_path / "uploads").mkdir()
    body = EndlessUpload()
    rows = Evidence.objects.count()
    tracemalloc.start()
    try:
        # The client claims 90 MiB (under the per-request cap) and would send forever.
        response = _post(case["id"], buyer.token, body, 90 * MiB)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert response.status_code == 413, response.content
    assert b'"too_large"' in response.content
    assert 20 * MiB < body.sent <= 21 * MiB  # stopped right after the limit, the rest never read
    assert peak < 4 * MiB, f"peak Python memory {peak / MiB:.1f} MiB"
    assert Evidence.objects.count() == rows
    assert list((tmp_path / "uploads").iterdir()) == []  # the temporary file is gone too
    assert not any("huge" in p.name for p in stored_files(media_root))


def test_a_declared_length_far_over_the_limit_is_refused_before_reading(buyer, case):
    body = EndlessUpload()
    response = _post(case["id"], buyer.token, body, 10 * 1024 * MiB)
    assert response.status_code == 413
    assert body.sent < MiB


def test_a_client_understating_its_length_cannot_push_more_than_it_declared(buyer, case):
    body = EndlessUpload()
    rows = Evidence.objects.count()
    response = _post(case["id"], buyer.token, body, 64 * 1024)  # says 64 KiB, would send forever
    assert body.sent <= 64 * 1024
    assert response.status_code in (400, 415)  # a truncated form, never stored
    assert Evidence.objects.count() == rows
