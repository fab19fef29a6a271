"""Evidence upload benchmark: throughput and peak memory for 20 MiB files.

Runs the real request path in-process (middleware, upload handlers, content checks, storage,
hash chain, and — as in the embedded setup — the assist analysis after commit) against a
throw-away SQLite database. Request bodies are generated while they are read, so the numbers
show what the server holds, not what the client built.

    .venv/bin/python bench/evidence_upload.py [--rounds 3] [--json bench/out/evidence_upload.json]
"""

import argparse
import io
import json
import os
import resource
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

MiB = 1024 * 1024
BOUNDARY = "kamengbench"


def _setup(tmp: Path):
    os.environ["KAMENG_DATA_DIR"] = str(tmp)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kameng.settings")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


class Body:
    """multipart/form-data with one file part, produced chunk by chunk."""

    def __init__(self, payload_chunks, size: int, filename: str):
        self.head = (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="category"\r\n\r\nproblem\r\n'
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        self.tail = f"\r\n--{BOUNDARY}--\r\n".encode()
        self.length = len(self.head) + size + len(self.tail)
        self._parts = iter([self.head, *payload_chunks, self.tail])
        self._buf = b""

    def read(self, size=-1):
        size = 64 * 1024 if size is None or size < 0 else size
        while len(self._buf) < size:
            part = next(self._parts, None)
            if part is None:
                break
            self._buf += part
        out, self._buf = self._buf[:size], self._buf[size:]
        return out

    readline = read


def _text_chunks(size: int):
    line = "2024-05-01 12:00:00 买家：激活码无效，错误代码 0x8007000D\n".encode()
    block = line * (64 * 1024 // len(line))
    sent = 0
    while sent + len(block) <= size:
        sent += len(block)
        yield block
    yield b" " * (size - sent)  # ASCII padding: never a character cut in half


def _photo_jpeg() -> bytes:
    """A 4000 x 3000 photo of a screen: an error dialog over sensor noise, JPEG quality 95
    (several MiB, the size phones produce). Built once, before measuring."""
    from PIL import Image, ImageDraw, ImageFont

    noise = Image.effect_noise((4000, 3000), 40).convert("RGB")
    screen = Image.new("RGB", (4000, 3000), (235, 238, 242))
    draw = ImageDraw.Draw(screen)
    draw.rectangle((800, 900, 3200, 2100), fill=(255, 255, 255), outline=(60, 60, 60), width=8)
    try:
        font = ImageFont.truetype("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 120)
    except OSError:
        font = ImageFont.load_default(120)
    draw.text((1000, 1100), "激活失败", font=font, fill=(200, 30, 30))
    draw.text((1000, 1400), "激活码无效 错误代码 0x8007000D", font=font, fill=(20, 20, 20))
    photo = Image.blend(screen, noise, 0.25)
    buf = io.BytesIO()
    photo.save(buf, "JPEG", quality=95)
    return buf.getvalue()


def _case_and_token():
    from django.test import Client

    from kameng.accounts.services import create_user, issue_token

    client = Client()
    suffix = str(int(time.time() * 1000))
    buyer = create_user(f"benchbuyer{suffix}", "bench-pass-123", "buyer", validate=False)
    merchant = create_user(f"benchshop{suffix}", "bench-pass-123", "merchant", validate=False)
    bt, mt = issue_token(buyer), issue_token(merchant)

    def call(path, body, token):
        res = client.post(
            f"/api/v1{path}",
            json.dumps(body),
            content_type="application/json",
            headers={"Authorization": f"Bearer {token}"},
        )
        assert res.status_code in (200, 201), res.content
        return res.json()

    call("/shops", {"name": f"店{suffix}", "description": "bench"}, mt)
    listing = call(
        "/listings",
        {
            "title": "Windows 11 专业版激活码",
            "category": "software_license",
            "kind": "card_key",
            "price": 9900,
            "description": "正版授权",
            "promises": ["100%稳定激活"],
            "after_sale_days": 7,
            "verification_minutes": 1440,
            "no_reason_refund": False,
        },
        mt,
    )
    call(f"/listings/{listing['id']}/stock", {"items": [f"K-{suffix}-{i}" for i in range(3)]}, mt)
    topup = call("/wallet/topups", {"amount": 100000}, bt)
    assert client.post(f"/sandbox/pay/{topup['id']}", headers={"Accept": "application/json"}).status_code == 200
    order = call("/orders", {"listing": listing["id"]}, bt)
    case = call(
        "/refunds",
        {"order": order["id"], "reason": "defective", "description": "激活码无效", "amount": order["amount"]},
        bt,
    )
    return case["id"], bt


def _upload(case_id: str, token: str, body: Body):
    from django.core.handlers.wsgi import WSGIHandler

    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": f"/api/v1/refunds/{case_id}/evidence",
        "QUERY_STRING": "",
        "SERVER_NAME": "bench",
        "SERVER_PORT": "80",
        "wsgi.url_scheme": "http",
        "wsgi.input": body,
        "wsgi.errors": sys.stderr,
        "CONTENT_TYPE": f"multipart/form-data; boundary={BOUNDARY}",
        "CONTENT_LENGTH": str(body.length),
        "HTTP_AUTHORIZATION": f"Bearer {token}",
        "REMOTE_ADDR": "127.0.0.1",
    }
    status = {}

    def start_response(s, headers, exc_info=None):
        status["code"] = int(s.split()[0])

    response = WSGIHandler()(environ, start_response)
    b"".join(response)
    if hasattr(response, "close"):
        response.close()
    return status["code"]


def run(rounds: int, *, analysis: bool) -> list[dict]:
    jpeg = _photo_jpeg()
    kinds = {
        "text 20 MiB": (lambda: _text_chunks(20 * MiB), 20 * MiB, "chat.txt", 201),
        f"jpeg {len(jpeg) / MiB:.1f} MiB": (
            lambda: [jpeg[i : i + 64 * 1024] for i in range(0, len(jpeg), 64 * 1024)],
            len(jpeg),
            "photo.jpg",
            201,
        ),
        "text 21 MiB (refused)": (lambda: _text_chunks(21 * MiB), 21 * MiB, "big.txt", 413),
    }
    results = []
    from kameng.timers import jobs

    real_analysis = jobs.JOBS["analyse_case"]
    if not analysis:  # measure the upload path alone: checks, storage, hash chain
        jobs.JOBS["analyse_case"] = lambda case_id: None
    for name, (chunks, size, filename, expected) in kinds.items():
        timings, peaks = [], []
        for _ in range(rounds):
            case_id, token = _case_and_token()  # a fresh case each time: the quota never interferes
            body = Body(chunks(), size, filename)
            tracemalloc.start()
            started = time.perf_counter()
            code = _upload(case_id, token, body)
            elapsed = time.perf_counter() - started
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            assert code == expected, (name, code)
            timings.append(elapsed)
            peaks.append(peak)
        best = min(timings)
        results.append(
            {
                "upload": name,
                "analysis": analysis,
                "status": expected,
                "rounds": rounds,
                "best_seconds": round(best, 3),
                "median_seconds": round(sorted(timings)[len(timings) // 2], 3),
                "throughput_mib_s": round(size / MiB / best, 1),
                "peak_python_mib": round(max(peaks) / MiB, 2),
            }
        )
    jobs.JOBS["analyse_case"] = real_analysis
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", help="also write the results here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kameng-bench-") as tmp:
        _setup(Path(tmp))
        upload_only = run(args.rounds, analysis=False)
        rss_upload = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        with_analysis = run(args.rounds, analysis=True)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    results = upload_only + with_analysis
    print(
        f"{'upload':<24} {'analysis':>8} {'status':>6} {'best s':>8} {'median s':>9} {'MiB/s':>7} {'peak py MiB':>12}"
    )
    for r in results:
        print(
            f"{r['upload']:<24} {'yes' if r['analysis'] else 'no':>8} {r['status']:>6} {r['best_seconds']:>8} "
            f"{r['median_seconds']:>9} {r['throughput_mib_s']:>7} {r['peak_python_mib']:>12}"
        )
    print(
        f"process max RSS: {rss_upload:.0f} MiB after the upload-only runs, {rss:.0f} MiB with the assist "
        "analysis (OCR models loaded)"
    )
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(
            json.dumps(
                {"results": results, "max_rss_upload_only_mib": round(rss_upload), "max_rss_mib": round(rss)}, indent=2
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
