"""Memory of the web workers after hostile image uploads (issue 16, point 4): a real `kameng serve
--workers 2` (embedded: OCR on the workers' background job thread), warmed up with ordinary
screenshots (OCR models loaded), then 20 hostile uploads, 6 at a time: 7000 x 7000 PNGs of a few
hundred KB (the red team's bomb), 6000 x 6000 JPEGs and huge-canvas GIFs, and 3800 x 3800 PNGs
that pass the checks and are decoded and read by OCR. Reports each worker's resident set (VmRSS)
before and after (once the background jobs are done) and its peak (VmHWM); exits 1 when the
workers together hold more than 100 MiB over the start.

    .venv/bin/python bench/hostile_uploads.py [--uploads 20] [--parallel 6]
"""

import argparse
import io
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from _common import BenchDatabase, Server, machine, make_market, request

LIMIT_MIB = 100


def vm(pid: int) -> dict:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmHWM", "VmRSS"):
            fields[key] = int(value.split()[0]) / 1024
    return fields


def cpu_seconds(pid: int) -> float:
    parts = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / 100


def multipart(data: bytes, filename: str) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="category"\r\n\r\nproblem\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    return head + data + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def files() -> dict[str, tuple[bytes, str]]:
    """Built once, before measuring (the client's memory is not the server's)."""
    from PIL import Image, ImageDraw

    def save(image, fmt, **options) -> bytes:
        out = io.BytesIO()
        image.save(out, fmt, **options)
        return out.getvalue()

    bomb = save(Image.new("RGB", (7000, 7000), (250, 250, 250)), "PNG", optimize=True)
    wide_jpeg = save(Image.new("RGB", (6000, 6000), (240, 240, 240)), "JPEG", quality=30)
    gif = save(Image.new("P", (9000, 9000), 0), "GIF")
    canvas = Image.new("RGB", (3800, 3800), (245, 245, 245))
    draw = ImageDraw.Draw(canvas)
    for y in range(100, 3800, 300):
        draw.text((120, y), f"ERROR 0x8007000D activation failed line {y}", fill=(20, 20, 20))
    decodable = save(canvas, "PNG", optimize=True)
    screenshot = Image.new("RGB", (900, 400), (255, 255, 255))
    ImageDraw.Draw(screenshot).text((40, 180), "Activation failed: 0x8007000D", fill=(0, 0, 0))
    return {
        "bomb_7000_png": (bomb, "bomb.png"),
        "jpeg_6000": (wide_jpeg, "big.jpg"),
        "gif_9000": (gif, "big.gif"),
        "png_3800_decoded": (decodable, "canvas.png"),
        "screenshot": (save(screenshot, "PNG"), "shot.png"),
    }


def settle(pids: list[int], quiet_seconds: float = 3.0, timeout: float = 600) -> None:
    """Wait until the workers use no CPU for `quiet_seconds` (their background OCR is done)."""
    deadline = time.monotonic() + timeout
    last = [cpu_seconds(p) for p in pids]
    quiet_since = time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.5)
        now = [cpu_seconds(p) for p in pids]
        if sum(now) - sum(last) > 0.05:
            quiet_since = time.monotonic()
        last = now
        if time.monotonic() - quiet_since >= quiet_seconds:
            return


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--uploads", type=int, default=20)
    parser.add_argument("--parallel", type=int, default=6)
    args = parser.parse_args(argv)
    print(f"machine: {machine()}")
    built = files()
    for name, (data, _) in built.items():
        print(f"  {name}: {len(data) / 1024:.0f} KiB")
    db = BenchDatabase("sqlite", "kameng_bench_hostile")
    try:
        db.kameng("init")
        db.use_here()
        market = make_market(buyers=1, stock=2, price=30000)
        from kameng.accounts.services import user_for_token
        from kameng.aftersales.services import open_case
        from kameng.orders.services import purchase

        token = market["buyer_tokens"][0]
        buyer = user_for_token(token)
        order = purchase(acting_user=buyer, listing_id=market["listing"].pk)
        case = open_case(acting_user=buyer, order_id=order.pk, reason="defective", description="无法激活", amount=1)
        server = Server(db, workers=2, threads=4)
        try:
            workers = server.worker_pids()
            path = f"/api/v1/refunds/{case.pk}/evidence"

            def post(name: str) -> int:
                data, filename = built[name]
                body, content_type = multipart(data, filename)
                status, _ = request(
                    "POST", server.port, path, raw=body, token=token, headers={"Content-Type": content_type}
                )
                return status

            with ThreadPoolExecutor(4) as pool:  # warm-up: both workers load OCR on ordinary screenshots
                assert set(pool.map(post, ["screenshot"] * 6)) == {201}
            settle(workers)
            before = {pid: vm(pid) for pid in workers}
            kinds = ["bomb_7000_png", "jpeg_6000", "gif_9000", "png_3800_decoded"]
            plan = [kinds[i % len(kinds)] for i in range(args.uploads)]
            started = time.perf_counter()
            with ThreadPoolExecutor(args.parallel) as pool:
                statuses = list(pool.map(post, plan))
            took = time.perf_counter() - started
            settle(workers)
            after = {pid: vm(pid) for pid in workers}
        finally:
            server.stop()
    finally:
        db.drop()
    answers = {kind: sorted({s for k, s in zip(plan, statuses, strict=True) if k == kind}) for kind in kinds}
    print(f"{args.uploads} hostile uploads, {args.parallel} at a time, answered in {took:.1f} s: {answers}")
    grown = 0.0
    for pid in workers:
        delta = after[pid]["VmRSS"] - before[pid]["VmRSS"]
        grown += delta
        print(
            f"worker {pid}: resident {before[pid]['VmRSS']:.0f} → {after[pid]['VmRSS']:.0f} MiB ({delta:+.0f}), "
            f"peak {after[pid]['VmHWM']:.0f} MiB"
        )
    print(f"workers together: {grown:+.0f} MiB after the uploads (limit {LIMIT_MIB} MiB)")
    return 0 if grown <= LIMIT_MIB else 1


if __name__ == "__main__":
    sys.exit(main())
