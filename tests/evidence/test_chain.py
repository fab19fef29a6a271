"""Tamper evidence: system items are held in their rows, uploads are stored files, the manifest is the case's hash chain,
and `kameng evidence verify` catches a changed, missing or relinked item."""

import hashlib

import pytest

from kameng.cli import main as kameng
from kameng.evidence.models import Evidence
from kameng.evidence.services import GENESIS, chain_link, chain_meta

from .conftest import png_bytes, stored_files


def test_system_items_are_held_in_their_rows_with_hashes_and_download_as_written(
    api, buyer, delivered_order, case, media_root
):
    """The opening's three texts are in their rows (`Evidence.text`), not stored files: the opening
    creates no file at all, and each item downloads as the bytes its sha256 and size record."""
    system = [e for e in case["evidence"] if e["source"] == "system"]
    assert [e["category"] for e in system] == ["listing", "transaction", "communication"]
    assert stored_files(media_root) == []
    for entry in system:
        item = Evidence.objects.get(pk=entry["id"])
        assert item.file.name == "" and item.text is not None
        res = api.client.get(
            f"/api/v1/refunds/{case['id']}/evidence/{entry['id']}/file",
            headers={"Authorization": f"Bearer {buyer.token}"},
        )
        assert res.status_code == 200 and res["Content-Disposition"].startswith("attachment")
        data = b"".join(res.streaming_content)
        assert data == item.text.encode("utf-8") == item.open().read()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"] == item.sha256
        assert len(data) == entry["size"]
        assert delivered_order["number"] in data.decode("utf-8")
        assert res["Content-Type"].startswith("text/plain") and res["X-Content-Type-Options"] == "nosniff"
    assert "100%稳定激活" in Evidence.objects.get(pk=system[0]["id"]).text  # the promises as bought


def test_a_changed_system_text_is_caught_by_verify(case, capsys):
    item = Evidence.objects.get(case_id=case["id"], seq=2)
    Evidence.objects.filter(pk=item.pk).update(text=item.text + "改过")  # edited behind the platform's back
    assert kameng(["evidence", "verify", "--case", case["id"]]) == 1
    assert f"item {item.pk} (#2 {item.filename}): file changed" in capsys.readouterr().out


def test_manifest_is_the_hash_chain_in_upload_order(api, buyer, merchant, case, upload):
    upload(case["id"], buyer, png_bytes(), name="a.png")
    upload(case["id"], merchant, "商家说明\n".encode(), name="b.txt", category="communication")
    res = api.get(f"/refunds/{case['id']}/evidence/manifest", token=buyer.token)
    assert res.status_code == 200
    items = res.data["items"]
    assert len(items) == 5
    prev = GENESIS
    for entry in items:
        assert {"id", "sha256", "prev", "chain"} <= set(entry)
        assert entry["prev"] == prev
        item = Evidence.objects.get(pk=entry["id"])
        assert entry["chain"] == chain_link(prev, entry["sha256"], chain_meta(item))
        prev = entry["chain"]
    assert res.data["head"] == prev
    assert api.get(f"/refunds/{case['id']}/evidence/manifest", token=merchant.token).status_code == 200


def test_manifest_is_hidden_from_outsiders(api, make_user, case):
    res = api.get(f"/refunds/{case['id']}/evidence/manifest", token=make_user("buyer").token)
    assert res.status_code == 404


def test_verify_passes_on_untouched_evidence(buyer, case, upload, capsys):
    upload(case["id"], buyer, png_bytes(), name="a.png")
    assert kameng(["evidence", "verify"]) == 0
    out = capsys.readouterr().out
    assert "evidence OK: 4 item(s) in 1 case(s)" in out
    assert kameng(["evidence", "verify", "--case", case["id"]]) == 0


def test_verify_names_a_tampered_stored_file_and_exits_1(buyer, case, upload, media_root, capsys):
    res = upload(case["id"], buyer, png_bytes(), name="proof.png")
    item = Evidence.objects.get(pk=res.data["id"])
    path = media_root / item.file.name
    data = bytearray(path.read_bytes())
    data[-20] ^= 0xFF  # one flipped byte
    path.write_bytes(bytes(data))
    assert kameng(["evidence", "verify"]) == 1
    out = capsys.readouterr().out
    assert f"item {item.pk} (#{item.seq} proof.png): file changed" in out
    assert "BROKEN (1 problem(s))" in out


def test_verify_reports_a_missing_file_and_a_rewritten_record(buyer, case, upload, media_root, capsys):
    first = Evidence.objects.get(pk=upload(case["id"], buyer, png_bytes(), name="gone.png").data["id"])
    second = Evidence.objects.get(pk=upload(case["id"], buyer, "说明\n".encode(), name="n.txt").data["id"])
    (media_root / first.file.name).unlink()
    Evidence.objects.filter(pk=second.pk).update(filename="renamed.txt")  # metadata edited behind our back
    assert kameng(["evidence", "verify", "--case", case["id"]]) == 1
    out = capsys.readouterr().out
    assert f"item {first.pk} (#{first.seq} gone.png): stored file missing" in out
    assert f"item {second.pk} (#{second.seq} renamed.txt): chain value does not match" in out


def test_verify_detects_a_removed_item_as_a_broken_link(buyer, case, upload, capsys):
    upload(case["id"], buyer, png_bytes(), name="a.png")
    last = Evidence.objects.get(pk=upload(case["id"], buyer, b"x\n", name="b.txt").data["id"])
    Evidence.objects.filter(case_id=case["id"], seq=last.seq - 1).delete()
    assert kameng(["evidence", "verify"]) == 1
    out = capsys.readouterr().out
    assert "sequence gap" in out and "broken link" in out


def test_evidence_groups_by_the_four_dimensions(buyer, case, upload):
    from kameng.aftersales.models import RefundCase
    from kameng.evidence.services import by_dimension

    upload(case["id"], buyer, png_bytes(), name="p.png")
    groups = by_dimension(RefundCase.objects.get(pk=case["id"]))
    assert list(groups) == ["listing", "transaction", "communication", "problem"]
    assert [len(items) for items in groups.values()] == [1, 1, 1, 1]
    assert groups["problem"][0].filename == "p.png"


def test_appended_texts_are_held_in_their_rows_and_a_rollback_leaves_nothing(case, media_root):
    """append_texts (and append_text, one of them) puts each text's bytes in its row, linked and
    anchored after the opening's three items; rolled back, nothing of it remains, in the database or
    in storage (a stored file would have outlived the rollback)."""
    from django.db import transaction

    from kameng.aftersales.models import RefundCase
    from kameng.clock.services import now as clock_now
    from kameng.evidence.models import ChainAnchor
    from kameng.evidence.services import anchor_mac, append_text, append_texts

    texts = [("problem", "one.txt", "第一份\n"), ("communication", "two.txt", "second"), ("listing", "三.txt", "")]

    class Undo(Exception):
        pass

    with pytest.raises(Undo), transaction.atomic():
        target = RefundCase.objects.select_for_update().get(pk=case["id"])
        items = append_texts(target, texts[:2], now=clock_now())
        items.append(append_text(target, category="listing", filename="三.txt", text="", now=clock_now()))
        rows = list(Evidence.objects.filter(pk__in=[i.pk for i in items]).order_by("seq"))
        assert [(r.seq, r.category, r.filename, r.source, r.file.name) for r in rows] == [
            (4, "problem", "one.txt", "system", ""),
            (5, "communication", "two.txt", "system", ""),
            (6, "listing", "三.txt", "system", ""),
        ]
        for row, (_, _, text) in zip(rows, texts, strict=True):
            data = text.encode("utf-8")
            assert row.text == text and row.open().read() == data
            assert (row.sha256, row.size) == (hashlib.sha256(data).hexdigest(), len(data))
        prev = Evidence.objects.get(case_id=case["id"], seq=3).chain
        for row in rows:
            assert row.prev == prev and row.chain == chain_link(prev, row.sha256, chain_meta(row))
            prev = row.chain
        anchors = ChainAnchor.objects.filter(case_id=case["id"], seq__gte=4).order_by("seq")
        assert [(a.seq, a.head, a.mac) for a in anchors] == [
            (r.seq, r.chain, anchor_mac(int(case["id"]), r.seq, r.chain)) for r in rows
        ]
        raise Undo
    assert list(Evidence.objects.filter(case_id=case["id"]).values_list("seq", flat=True)) == [1, 2, 3]
    assert stored_files(media_root) == []


def test_appending_texts_writes_the_extract_the_assist_would_read_from_each_stored_file(case):
    """append_texts stores each file's EvidenceExtract with it (the analysis job after the opening
    reads nothing back); it must be the row extract_item writes from the stored bytes: every field
    but the ids and the instant, for plain text, markup, control characters, nothing, and a text
    longer than the assist keeps."""
    from django.db import transaction

    from kameng.aftersales.models import RefundCase
    from kameng.arbitration.assist import extract_item
    from kameng.clock.services import now as clock_now
    from kameng.evidence.models import EvidenceExtract
    from kameng.evidence.services import append_texts
    from kameng.evidence.uploads import MAX_TEXT_CHARS

    texts = [
        ("listing", "plain.txt", "商品快照\n100%稳定激活\n"),
        ("transaction", "markup.txt", "<html><body>订单</body></html>"),
        ("communication", "controls.txt", "买家：\x07你好\x1b[0m"),
        ("problem", "empty.txt", ""),
        ("problem", "long.txt", "码" * (MAX_TEXT_CHARS + 5) + "尾"),
        ("problem", "wide.txt", "😀" * (MAX_TEXT_CHARS + 1)),
    ]
    fields = ("status", "text_source", "text", "frames", "error", "engine", "preview")

    class Undo(Exception):
        pass

    try:
        with transaction.atomic():  # rolled back: the case keeps its own chain
            target = RefundCase.objects.select_for_update().get(pk=case["id"])
            items = append_texts(target, texts, now=clock_now())
            written = list(EvidenceExtract.objects.filter(evidence__in=items).order_by("evidence__seq").values(*fields))
            EvidenceExtract.objects.filter(evidence__in=items).delete()
            read = [extract_item(item) for item in items]
            read_back = [{f: getattr(e, f).name if f == "preview" else getattr(e, f) for f in fields} for e in read]
            raise Undo
    except Undo:
        pass
    assert written == [{**r, "preview": r["preview"] or ""} for r in read_back]
    assert [len(w["text"]) for w in written[-2:]] == [MAX_TEXT_CHARS, MAX_TEXT_CHARS]
    assert all(w["status"] == "done" and w["text_source"] == "text" for w in written)


def test_the_opening_leaves_nothing_for_the_assist_to_read_back(case):
    """The three system files of the opening come with their extracts: analyse_case reads no file."""
    from kameng.evidence.models import EvidenceExtract

    system = [e["id"] for e in case["evidence"] if e["source"] == "system"]
    extracts = EvidenceExtract.objects.filter(evidence_id__in=system)
    assert sorted(str(pk) for pk in extracts.values_list("evidence_id", flat=True)) == sorted(system)


def test_the_opening_writes_the_system_files_as_the_first_three_links_of_the_chain(case):
    from kameng.evidence.models import ChainAnchor

    items = list(Evidence.objects.filter(case_id=case["id"]).order_by("seq"))
    assert [i.seq for i in items] == [1, 2, 3] and [e["id"] for e in case["evidence"]] == [str(i.pk) for i in items]
    prev = GENESIS
    for item in items:
        assert item.prev == prev and item.chain == chain_link(prev, item.sha256, chain_meta(item))
        prev = item.chain
    anchors = ChainAnchor.objects.filter(case_id=case["id"]).order_by("seq")
    assert [(a.seq, a.head) for a in anchors] == [(i.seq, i.chain) for i in items]


@pytest.mark.parametrize("count", [1, 2])
def test_appending_texts_is_one_statement_on_postgresql_each_extract_on_its_own_item(case, count):
    """On PostgreSQL the items, their anchors and their extracts go in one statement (a WITH of the three
    INSERTs; an extract finds its item's new key by seq), for one text as for several; elsewhere three."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from kameng.aftersales.models import RefundCase
    from kameng.clock.services import now as clock_now
    from kameng.evidence.models import ChainAnchor, EvidenceExtract
    from kameng.evidence.services import append_texts

    texts = [("problem", f"{n}.txt", f"第{n}份") for n in range(count)]
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        target = RefundCase.objects.select_for_update().get(pk=case["id"])
        items = append_texts(target, texts, now=clock_now())
    writes = [q["sql"] for q in queries.captured_queries if q["sql"].startswith(("INSERT", "WITH"))]
    assert len(writes) == (1 if connection.vendor == "postgresql" else 3)
    extracts = EvidenceExtract.objects.filter(evidence__in=items).order_by("evidence__seq")
    assert [(e.evidence_id, e.text) for e in extracts] == [
        (i.pk, t) for i, (_c, _f, t) in zip(items, texts, strict=True)
    ]
    assert [(i.extract.pk, i.extract.evidence_id) for i in items] == [(e.pk, e.evidence_id) for e in extracts]
    anchors = ChainAnchor.objects.filter(case_id=case["id"], seq__in=[i.seq for i in items]).order_by("seq")
    assert [(a.seq, a.head) for a in anchors] == [(i.seq, i.chain) for i in items]
