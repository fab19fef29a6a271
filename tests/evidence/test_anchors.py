"""The chain anchored outside its own rows (issue 16, point 6): deleting a case's newest item
(row and file), or rewriting an item and recomputing the chain after it, no longer verifies;
anchors cannot be edited, and a forged one lacks the server key's HMAC."""

import hashlib

import pytest
from django.db import DatabaseError, transaction

from kameng.cli import main as kameng
from kameng.evidence.models import ChainAnchor, Evidence
from kameng.evidence.services import chain_link, chain_meta

from .conftest import png_bytes


def on_postgres() -> bool:
    from django.db import connection

    return connection.vendor == "postgresql"


def test_every_item_is_anchored_with_the_head_after_it(buyer, case, upload):
    upload(case["id"], buyer, png_bytes(), name="a.png")
    items = list(Evidence.objects.filter(case_id=case["id"]).order_by("seq"))
    anchors = list(ChainAnchor.objects.filter(case_id=case["id"]).order_by("seq"))
    assert [(a.seq, a.head) for a in anchors] == [(i.seq, i.chain) for i in items]
    assert all(len(a.mac) == 64 for a in anchors)


def test_deleting_the_newest_item_and_its_file_is_caught(buyer, case, upload, media_root, capsys):
    newest = Evidence.objects.get(pk=upload(case["id"], buyer, png_bytes(), name="last.png").data["id"])
    (media_root / newest.file.name).unlink()
    Evidence.objects.filter(pk=newest.pk).delete()
    assert kameng(["evidence", "verify", "--case", case["id"]]) == 1
    out = capsys.readouterr().out
    assert f"case {case['id']}: 3 item(s) but 4 anchored" in out
    assert f"case {case['id']} item #{newest.seq}: anchored but missing" in out


def test_rewriting_an_item_and_recomputing_the_chain_is_caught(buyer, case, upload, media_root, capsys):
    first = Evidence.objects.get(pk=upload(case["id"], buyer, png_bytes(), name="a.png").data["id"])
    upload(case["id"], buyer, "后来的说明\n".encode(), name="b.txt")
    forged = "伪造的内容\n".encode()
    (media_root / first.file.name).write_bytes(forged)
    prev = first.prev
    for item in Evidence.objects.filter(case_id=case["id"], seq__gte=first.seq).order_by("seq"):
        if item.pk == first.pk:
            item.sha256, item.size, item.content_type = hashlib.sha256(forged).hexdigest(), len(forged), "text/plain"
        item.prev = prev
        item.chain = chain_link(prev, item.sha256, chain_meta(item))
        item.save()
        prev = item.chain
    assert kameng(["evidence", "verify", "--case", case["id"]]) == 1
    out = capsys.readouterr().out
    assert "file changed" not in out and "broken link" not in out  # the rows agree with each other
    assert f"item #{first.seq}: chain differs from the head anchored with it" in out
    assert f"item #{first.seq + 1}: chain differs" in out


def test_anchors_cannot_be_edited(buyer, case):
    with pytest.raises(DatabaseError), transaction.atomic():
        ChainAnchor.objects.filter(case_id=case["id"]).update(head="0" * 64)


def test_an_anchor_without_the_server_keys_hmac_is_caught(buyer, case, upload, capsys):
    newest = Evidence.objects.get(pk=upload(case["id"], buyer, png_bytes(), name="last.png").data["id"])
    Evidence.objects.filter(pk=newest.pk).delete()
    anchor = ChainAnchor.objects.filter(case_id=case["id"], seq=newest.seq)
    if on_postgres():
        with pytest.raises(DatabaseError), transaction.atomic():
            anchor.delete()  # PostgreSQL refuses DELETE too: nothing to forge over
        return
    anchor.delete()  # SQLite allows DELETE (Django's test teardown needs it): the HMAC still holds
    Evidence.objects.create(
        case_id=case["id"],
        seq=newest.seq,
        category="problem",
        source="buyer",
        filename="other.png",
        content_type=newest.content_type,
        size=newest.size,
        sha256=newest.sha256,
        file=newest.file.name,
        prev=newest.prev,
        chain="f" * 64,
        uploaded_at=newest.uploaded_at,
    )
    ChainAnchor.objects.create(case_id=case["id"], seq=newest.seq, head="f" * 64, mac="0" * 64, at=newest.uploaded_at)
    assert kameng(["evidence", "verify", "--case", case["id"]]) == 1
    assert f"anchor #{newest.seq}: HMAC does not match" in capsys.readouterr().out


def test_untouched_evidence_verifies_with_its_anchors(buyer, case, upload, capsys):
    upload(case["id"], buyer, png_bytes(), name="a.png")
    assert kameng(["evidence", "verify"]) == 0
    assert "evidence OK: 4 item(s) in 1 case(s)" in capsys.readouterr().out
