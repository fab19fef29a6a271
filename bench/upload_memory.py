"""Peak memory of the web process during a 20 MiB evidence upload (multipart POST
/api/v1/refunds/{id}/evidence), read from the kernel: VmHWM (peak resident set) of the single
gunicorn worker before and after, against a real `kameng serve --workers 1`.

    .venv/bin/python bench/upload_memory.py            # SQLite, files on disk
    .venv/bin/python bench/upload_memory.py --s3       # evidence to an S3 API (moto's server)
"""

import argparse
import hashlib
import sys
import time
import uuid
from pathlib import Path

from _common import BenchDatabase, Server, machine, make_market, request

MiB = 1024 * 1024


def vm(pid: int) -> dict:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmHWM", "VmRSS"):
            fields[key] = int(value.split()[0]) / 1024  # MiB
    return fields


def multipart(data: bytes, filename: str) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="category"\r\n\r\nproblem\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        f"Content-Type: text/plain\r\n\r\n"
    ).encode()
    return head + data + f"\r\n--{boundary}--\r\n".encode(), f"multipart/form-data; boundary={boundary}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=float, default=20)
    parser.add_argument("--uploads", type=int, default=3)
    parser.add_argument("--s3", action="store_true")
    args = parser.parse_args()

    print(f"machine: {machine()}")
    db = BenchDatabase("sqlite", "kameng_bench_upload")
    moto = None
    extra = {}
    if args.s3:
        import boto3
        from _common import free_port
        from moto.server import ThreadedMotoServer

        port = free_port()
        moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        moto.start()
        extra = {
            "KAMENG_S3_BUCKET": "bench-evidence",
            "KAMENG_S3_ENDPOINT_URL": f"http://127.0.0.1:{port}",
            "KAMENG_S3_ACCESS_KEY": "bench",
            "KAMENG_S3_SECRET_KEY": "bench-secret",
            "KAMENG_S3_REGION": "us-east-1",
        }
        boto3.client(
            "s3",
            endpoint_url=extra["KAMENG_S3_ENDPOINT_URL"],
            aws_access_key_id="bench",
            aws_secret_access_key="bench-secret",
            region_name="us-east-1",
        ).create_bucket(Bucket="bench-evidence")
        db.env.update(extra)
    try:
        db.kameng("init")
        db.use_here()
        market = make_market(buyers=1, stock=args.uploads + 1, price=30000)
        from kameng.accounts.services import user_for_token
        from kameng.aftersales.services import open_case
        from kameng.orders.services import purchase

        token = market["buyer_tokens"][0]
        buyer = user_for_token(token)
        cases = []
        for _ in range(args.uploads):
            order = purchase(acting_user=buyer, listing_id=market["listing"].pk)
            cases.append(
                open_case(
                    acting_user=buyer,
                    order_id=order.pk,
                    reason="defective",
                    description="无法激活",
                    amount=order.amount,
                ).pk
            )
        server = Server(db, workers=1, threads=1)
        try:
            (worker,) = server.worker_pids()
            for _ in range(20):  # warm the worker up (imports, caches) before taking the baseline
                request("GET", server.port, f"/api/v1/refunds/{cases[0]}", token=token)
            size = int(args.size_mib * MiB)
            line = b"kameng evidence benchmark: chat log line 0123456789 \xe8\xaf\x81\xe6\x8d\xae\n"
            data = (line * (size // len(line) + 1))[:size]
            body, content_type = multipart(data, "chat-log.txt")
            before = vm(worker)
            print(f"worker {worker} before: peak {before['VmHWM']:.1f} MiB, resident {before['VmRSS']:.1f} MiB")
            for case_id in cases:
                t0 = time.perf_counter()
                status, item = request(
                    "POST",
                    server.port,
                    f"/api/v1/refunds/{case_id}/evidence",
                    raw=body,
                    token=token,
                    headers={"Content-Type": content_type, "Content-Length": str(len(body))},
                )
                took = time.perf_counter() - t0
                assert status == 201, (status, item)
                assert item["sha256"] == hashlib.sha256(data).hexdigest() and item["size"] == size
                after = vm(worker)
                print(
                    f"upload of {size / MiB:.1f} MiB: 201 in {took * 1000:.0f} ms; worker peak {after['VmHWM']:.1f} MiB "
                    f"(+{after['VmHWM'] - before['VmHWM']:.1f} MiB over the warm baseline), resident now "
                    f"{after['VmRSS']:.1f} MiB"
                )
        finally:
            server.stop()
    finally:
        db.drop()
        if moto:
            moto.stop()


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    main()
