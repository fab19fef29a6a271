"""Idempotency-Key as contract v1.1 says (issue 16 point 7, issue 13 point 5): parsed-JSON
comparison, validation failures not stored, the answer stored with the action, 24 h retention
with an hourly purge, multipart bodies hashed whole, one file per part; and a NUL in a multipart
form field refused on SQLite too (point 9). The crash side is test_crash_safety_pg.py."""

import json
from datetime import timedelta

from django.core.files.uploadedfile import SimpleUploadedFile

from kameng.api.models import IdempotencyRecord
from kameng.clock.services import now as clock_now
from kameng.timers.models import Timer

from .conftest import tiny_png


def raw_post(api, path, raw: bytes, token, key):
    return api.client.post(
        f"/api/v1{path}",
        data=raw,
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key},
    )


def test_the_same_json_with_other_spacing_and_key_order_replays(api, buyer):
    first = raw_post(api, "/wallet/topups", b'{"amount": 100, "gateway": "sandbox"}', buyer.token, "k-json")
    assert first.status_code == 201, first.content
    second = raw_post(api, "/wallet/topups", b'{ "gateway":"sandbox" ,\n "amount":100 }', buyer.token, "k-json")
    assert second.status_code == 201, second.content
    assert second["Idempotent-Replayed"] == "true"
    assert second.json()["id"] == first.json()["id"]
    other = raw_post(api, "/wallet/topups", b'{"amount": 101, "gateway": "sandbox"}', buyer.token, "k-json")
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_key_reused"


def test_input_that_fails_validation_is_not_stored(api, buyer):
    headers = {"Idempotency-Key": "k-fix"}
    bad = api.post("/wallet/topups", {"amount": "lots"}, token=buyer.token, headers=headers)
    assert bad.status_code == 400
    assert not IdempotencyRecord.objects.filter(key="k-fix").exists()
    fixed = api.post("/wallet/topups", {"amount": 100}, token=buyer.token, headers=headers)
    assert fixed.status_code == 201, fixed.data
    again = api.post("/wallet/topups", {"amount": 100}, token=buyer.token, headers=headers)
    assert again["Idempotent-Replayed"] == "true"
    assert again.data["id"] == fixed.data["id"]


def test_unauthenticated_and_rate_limited_answers_are_not_stored(api, buyer):
    headers = {"Idempotency-Key": "k-auth"}
    assert api.post("/wallet/topups", {"amount": 100}, token="not-a-token", headers=headers).status_code == 401
    assert not IdempotencyRecord.objects.filter(key="k-auth").exists()


def test_the_stored_answer_is_written_with_the_key(api, buyer):
    res = api.post("/wallet/topups", {"amount": 100}, token=buyer.token, headers={"Idempotency-Key": "k-row"})
    record = IdempotencyRecord.objects.get(key="k-row")
    assert record.status == 201
    assert json.loads(bytes(record.body)) == res.data


def test_a_key_left_in_progress_by_an_old_crash_is_taken_over(api, buyer):
    """Rows written before the answer shared the action's transaction could stay "in progress"
    after a SIGKILL; such a row no longer blocks its key for ever."""
    body = {"amount": 100}
    IdempotencyRecord.objects.create(
        scope=__import__("hashlib").sha256(f"Bearer {buyer.token}".encode()).hexdigest(),
        key="k-stuck",
        request_hash="whatever",
        status=None,
        created_at=clock_now() - timedelta(minutes=5),
    )
    res = api.post("/wallet/topups", body, token=buyer.token, headers={"Idempotency-Key": "k-stuck"})
    assert res.status_code == 201, res.data
    assert IdempotencyRecord.objects.get(key="k-stuck").status == 201


def test_keys_are_kept_24_hours_then_purged_and_act_afresh(api, buyer, advance):
    headers = {"Idempotency-Key": "k-day"}
    first = api.post("/wallet/topups", {"amount": 100}, token=buyer.token, headers=headers)
    assert Timer.objects.filter(kind="api.purge_idempotency", status="pending").exists()
    advance(23 * 3600)
    replay = api.post("/wallet/topups", {"amount": 100}, token=buyer.token, headers=headers)
    assert replay["Idempotent-Replayed"] == "true"
    assert IdempotencyRecord.objects.filter(key="k-day").exists()
    advance(3600 + 60)  # the hourly purge ran past the 24 h
    assert not IdempotencyRecord.objects.filter(key="k-day").exists()
    fresh = api.post("/wallet/topups", {"amount": 100}, token=buyer.token, headers=headers)
    assert fresh.status_code == 201
    assert not fresh.has_header("Idempotent-Replayed")
    assert fresh.data["id"] != first.data["id"]


def evidence_count(api, world):
    return len(api.get(f"/refunds/{world['case']['id']}", token=world["buyer"].token).data["evidence"])


def multipart(api, case_id, user, files, key, note="证据"):
    return api.client.post(
        f"/api/v1/refunds/{case_id}/evidence",
        {"file": files, "category": "problem", "note": note},
        headers={"Authorization": f"Bearer {user.token}", "Idempotency-Key": key},
    )


def test_the_multipart_hash_covers_the_file_content(api, world):
    buyer, case = world["buyer"], world["case"]
    before = evidence_count(api, world)
    a, b = tiny_png(1), tiny_png(2)
    assert len(a) == len(b) and a != b  # same Content-Length, other content
    first = multipart(api, case["id"], buyer, SimpleUploadedFile("a.png", a), "k-upload")
    assert first.status_code == 201, first.content
    same = multipart(api, case["id"], buyer, SimpleUploadedFile("a.png", a), "k-upload")
    assert same["Idempotent-Replayed"] == "true"
    other = multipart(api, case["id"], buyer, SimpleUploadedFile("a.png", b), "k-upload")
    assert other.status_code == 409
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    assert evidence_count(api, world) == before + 1


def test_two_file_parts_are_refused(api, world):
    buyer, case = world["buyer"], world["case"]
    before = evidence_count(api, world)
    res = multipart(
        api,
        case["id"],
        buyer,
        [SimpleUploadedFile("a.png", tiny_png(1)), SimpleUploadedFile("b.png", tiny_png(2))],
        "k2",
    )
    assert res.status_code == 400
    assert res.json()["error"]["code"] == "duplicate_file"
    assert res.json()["error"]["param"] == "file"
    assert evidence_count(api, world) == before
    assert not IdempotencyRecord.objects.filter(key="k2").exists()


def test_a_nul_in_a_multipart_note_is_refused_on_every_database(api, world):
    buyer, case = world["buyer"], world["case"]
    before = evidence_count(api, world)
    res = multipart(api, case["id"], buyer, SimpleUploadedFile("a.png", tiny_png(3)), "k-nul", note="看\x00这里")
    assert res.status_code == 400, res.content
    assert res.json()["error"]["code"] == "invalid_characters"
    assert res.json()["error"]["param"] == "note"
    assert evidence_count(api, world) == before
