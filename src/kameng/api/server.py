"""The gunicorn worker `kameng serve` runs: gunicorn's own refusals (414 URI too long, 431 headers too
large, 400 unparsable request…), which it answers before Django sees the request, come in the
contract's error shape with a Request-Id instead of gunicorn's HTML page.

gunicorn decides the status and logs the access line as usual; only the bytes it would send change.
"""

import json

from gunicorn import util
from gunicorn.workers.gthread import ThreadWorker

from kameng.errors import DomainError, Error

from .errors import STATUS_TYPES, error_body, new_request_id

# What each refusal says (Chinese: such a request has no readable Accept-Language); others REQUEST_FAILED.
SERVER_ERRORS: dict[int, Error] = {
    400: Error.REQUEST_INVALID,
    403: Error.PERMISSION_DENIED,
    414: Error.URI_TOO_LONG,
    417: Error.REQUEST_INVALID,
    431: Error.HEADERS_TOO_LARGE,
    500: Error.INTERNAL_ERROR,
    501: Error.REQUEST_INVALID,
}


class _Captured:
    """Stands in for the client socket while gunicorn writes its error page, to learn its status."""

    def __init__(self) -> None:
        self.data = b""

    def gettimeout(self) -> float:
        return 0.0

    def sendall(self, data: bytes) -> None:
        self.data += data


def shaped_error(status: int, reason: str) -> bytes:
    """A complete HTTP/1.1 answer in the error shape for a refusal gunicorn made itself."""
    exc = DomainError(SERVER_ERRORS.get(status, Error.REQUEST_FAILED))
    rid = new_request_id()
    kind = STATUS_TYPES.get(status, exc.kind)
    body = json.dumps(error_body(kind, exc.code, exc.message("zh"), None, rid), ensure_ascii=False).encode()
    head = (
        f"HTTP/1.1 {status} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
        f"Content-Language: zh-hans\r\nRequest-Id: {rid}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode("latin-1") + body


class JsonErrorWorker(ThreadWorker):
    def handle_error(self, req, client, addr, exc):
        captured = _Captured()
        super().handle_error(req, captured, addr, exc)
        status_line = captured.data.split(b"\r\n", 1)[0].decode("latin-1").split(" ", 2)
        if len(status_line) < 2 or not status_line[1].isdigit():
            util.write_nonblock(client, captured.data)
            return
        reason = status_line[2] if len(status_line) > 2 else ""
        try:
            util.write_nonblock(client, shaped_error(int(status_line[1]), reason))
        except Exception:
            self.log.debug("Failed to send error message.")
