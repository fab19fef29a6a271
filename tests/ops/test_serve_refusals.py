"""`kameng serve` answers in the contract's error shape even where gunicorn refuses a request before
Django sees it (414 URI too long, 431 headers too large, 400 unparsable), and its access log line
carries each answer's Request-Id."""

import json
import socket
import sys
import urllib.request


def _raw(port: int, request: bytes) -> tuple[int, dict[str, str], bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(request)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return int(lines[0].split(" ")[1]), headers, body


def _error(status, headers, body) -> dict:
    assert headers["Content-Type"] == "application/json", (status, headers, body[:200])
    error = json.loads(body)["error"]
    assert set(error) == {"type", "code", "message", "param", "request_id"}
    assert error["request_id"] == headers["Request-Id"] and error["message"]
    return error


def test_gunicorns_own_refusals_are_in_the_error_shape(isolated_db, processes, wait_for, free_port):
    port = free_port()
    serve = processes.start(
        [sys.executable, "-m", "kameng.cli", "serve", "--port", str(port), "--workers", "1", "--no-timers",
         "--access-log"],
        isolated_db.env,
        "serve",
    )  # fmt: skip

    def healthy():
        try:
            return urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5).status == 200
        except OSError:
            return False

    wait_for(healthy, 60, interval=0.25, what="kameng serve to answer /healthz")

    long_uri = b"GET /api/v1/listings?q=" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    status, headers, body = _raw(port, long_uri)
    assert status == 414
    assert _error(status, headers, body)["code"] == "uri_too_long"

    big_header = b"GET /api/v1/listings HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 9000 + b"\r\n\r\n"
    status, headers, body = _raw(port, big_header)
    assert status == 431
    assert _error(status, headers, body)["code"] == "headers_too_large"

    status, headers, body = _raw(port, b"NOT HTTP AT ALL\r\n\r\n")
    assert status == 400
    assert _error(status, headers, body)["type"] == "invalid_request"

    answered = _raw(port, b"GET /api/v1/me HTTP/1.1\r\nHost: x\r\nX-Request-Id: trace-42\r\nConnection: close\r\n\r\n")
    assert answered[0] == 401 and _error(*answered)["request_id"] == "trace-42"
    wait_for(lambda: processes.says(serve, "request_id=trace-42"), 10, what="the access log line")
    processes.stop(serve)
    assert serve.returncode == 0, processes.output(serve)
