"""Uploads cannot exhaust memory (issue 16, point 4): the decoded size is capped from the image
header before anything is decoded, decodes are bounded per process, and the embedded setup runs
OCR on a background job thread, not in the request. Peak memory is read from the kernel (VmHWM,
reset through /proc/self/clear_refs). bench/hostile_uploads.py measures a real server."""

import io
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.db import transaction
from PIL import Image, ImageDraw

from kameng.evidence.uploads import MAX_DECODED_BYTES
from kameng.timers import jobs

MiB = 1024 * 1024


def _status() -> dict[str, float]:
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmHWM", "VmRSS"):
            fields[key] = int(value.split()[0]) / 1024
    return fields


def peak_growth(action) -> float:
    """MiB the process's peak resident set rose above its resident set while `action` ran."""
    try:
        Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM to the current VmRSS
    except OSError:
        pytest.skip("the kernel does not let this process reset its peak RSS (/proc/self/clear_refs)")
    before = _status()["VmRSS"]
    action()
    return _status()["VmHWM"] - before


def png(size, colour=(250, 250, 250)) -> bytes:
    image = Image.new("RGB", size, colour)
    ImageDraw.Draw(image).line([(0, 0), size], fill=(10, 10, 10), width=5)
    out = io.BytesIO()
    image.save(out, "PNG", optimize=True)
    return out.getvalue()


def test_a_7000_square_png_of_a_few_hundred_kb_is_refused_from_its_header(buyer, case, upload):
    bomb = png((7000, 7000))
    assert len(bomb) < 1 * MiB
    answers = []
    grew = peak_growth(lambda: answers.append(upload(case["id"], buyer, bomb, name="bomb.png")))
    res = answers[0]
    assert res.status_code == 413, res.data
    assert res.data["error"]["code"] == "image_too_large"
    assert grew < 40, f"peak rose {grew:.0f} MiB: the image was decoded (7000 x 7000 RGB is 140 MiB)"


def test_the_decoded_size_cap_counts_bytes_per_pixel(buyer, case, upload):
    assert 64 * MiB >= MAX_DECODED_BYTES  # well below the 50 megapixels x 4 bytes allowed before
    rgba = io.BytesIO()
    Image.new("RGBA", (4000, 4000), (200, 200, 200, 255)).save(rgba, "PNG", optimize=True)  # 64 MB decoded
    refused = upload(case["id"], buyer, rgba.getvalue(), name="a.png")
    assert refused.status_code == 413 and refused.data["error"]["code"] == "image_too_large"
    assert upload(case["id"], buyer, png((4000, 4000)), name="rgb.png").status_code == 201  # 48 MB of RGB


# Measured in a fresh process: in the suite's, a background job or another test's leftovers (a PDF's
# fonts, a job thread's decode) moved the peak by as much as the bound itself.
_PARALLEL_DECODES = """
import sys, threading
import django
django.setup()
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from kameng.evidence import uploads
sys.path.insert(0, sys.argv[1])
from test_upload_memory import peak_growth, png

data = png((3900, 3900))  # 46 MB of RGB pixels each once decoded (Pillow keeps 4 bytes a pixel: 58 MiB)


def four_at_once(slots):
    settings.EVIDENCE_DECODE_SLOTS = slots  # read when the slots are first made
    uploads._decode_slots = None
    barrier, types = threading.Barrier(4), []

    def check():
        barrier.wait()
        types.append(uploads.inspect_upload(SimpleUploadedFile("p.png", data)).content_type)

    def run_all():
        threads = [threading.Thread(target=check) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    grew = peak_growth(run_all)
    assert types == ["image/png"] * 4, types
    return grew


one_slot = max(four_at_once(1) for _ in range(2))
# Four slots decode at once only when the four threads overlap; on a loaded machine they may not,
# so the contrast is taken from the best of three tries.
four_slots = 0
for _ in range(3):
    four_slots = max(four_slots, four_at_once(4))
    if four_slots > one_slot + 100:
        break
print(one_slot, four_slots)
"""


def test_parallel_decodes_are_bounded_per_process():
    peak_growth(lambda: None)  # skips where the kernel does not let a process reset its peak
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "kameng.settings"}
    out = subprocess.run(
        [sys.executable, "-c", _PARALLEL_DECODES, str(Path(__file__).parent)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    one_slot, four_slots = (float(v) for v in out.split())
    # Seen: one slot 58 MiB (one decode at a time), four slots 184-188 MiB (four at once; one try of a
    # loaded CI pass saw 128).
    assert one_slot < 120, f"peak rose {one_slot:.0f} MiB for four 58 MiB decodes with one slot"
    assert four_slots > one_slot + 60, f"four slots rose {four_slots:.0f} MiB: the measure cannot tell them apart"


@pytest.mark.django_db(transaction=True)
def test_embedded_jobs_run_on_a_background_thread_not_in_the_request(settings):
    settings.JOBS_IN_BACKGROUND = True
    ran = []
    jobs.job("test.slow_probe")(lambda: (time.sleep(0.5), ran.append(threading.current_thread().name)))
    try:
        started = time.monotonic()
        with transaction.atomic():
            jobs.enqueue("test.slow_probe")
        assert time.monotonic() - started < 0.4  # the caller did not wait for the job
        jobs.drain()
        assert len(ran) == 1 and ran[0].startswith("kameng-job")
    finally:
        jobs.JOBS.pop("test.slow_probe", None)


@pytest.mark.django_db(transaction=True)
def test_uploaded_evidence_is_analysed_by_the_background_pool(
    api, buyer, merchant, arbitrator, make_listing, fund, settings, upload
):
    from kameng.arbitration.assist import analyse_case
    from kameng.evidence.models import CaseAnalysis

    listing = make_listing(merchant)
    fund(buyer, 100000)
    order = api.post("/orders", {"listing": listing["id"]}, token=buyer.token).data
    settings.JOBS_IN_BACKGROUND = True
    case = api.post(
        "/refunds",
        {"order": order["id"], "reason": "defective", "description": "激活失败", "amount": order["amount"]},
        token=buyer.token,
    ).data
    jobs.drain()
    # The opening queues no analysis: its system files come read, and the first look analyses them.
    assert not CaseAnalysis.objects.filter(case_id=case["id"]).exists()
    assert api.get(f"/refunds/{case['id']}/assist", token=arbitrator.token).status_code == 200
    looked = CaseAnalysis.objects.get(case_id=case["id"])
    head = api.get(f"/refunds/{case['id']}/evidence/manifest", token=buyer.token).data["head"]
    assert looked.head == head
    CaseAnalysis.objects.filter(case_id=case["id"]).delete()
    assert analyse_case(case["id"]).result == looked.result  # what the job would have stored

    res = upload(case["id"], buyer, "激活码无效，错误代码 0x8007000D".encode(), name="error.txt")
    assert res.status_code == 201, res.data
    jobs.drain()
    analysed = CaseAnalysis.objects.get(case_id=case["id"])
    assert analysed.head == api.get(f"/refunds/{case['id']}/evidence/manifest", token=buyer.token).data["head"] != head
    assert any(f["source"] == res.data["id"] for f in analysed.result["findings"])
