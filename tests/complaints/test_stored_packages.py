"""Complaint packages built ahead and kept: the buyer's page queues the build of the channel it shows
(job build_complaint), a download serves the stored ZIP while the case still says the same, and a
change to the case, its evidence or the buyer's details makes the next download build it again."""

from pathlib import Path

import pytest

from kameng.complaints.models import ComplaintPackage


@pytest.fixture
def case(order_for, open_case):
    return open_case(order_for(), reason="not_as_described", description="宣传100%稳定激活，实际无法激活")


def test_the_page_builds_its_channels_package_ahead_and_the_download_serves_it(
    client, buyer, case, open_package, django_capture_on_commit_callbacks
):
    client.force_login(buyer)
    page = f"/refunds/{case['id']}/complaint/?channel=arbitration"
    with django_capture_on_commit_callbacks(execute=True) as queued:
        assert client.get(page).status_code == 200
    assert len(queued) == 1  # the job, sent once the page's work has committed
    stored = ComplaintPackage.objects.get(case_id=case["id"])
    assert stored.channel == "arbitration" and stored.size == len(stored.file.open("rb").read())

    res = client.get(f"/refunds/{case['id']}/complaint/download?channel=arbitration")
    assert res.status_code == 200 and res.content == stored.file.open("rb").read()
    package = open_package(res.content)
    assert {"complaint.pdf", "complaint.txt", "manifest.json"} <= set(package.names())
    assert package.manifest["channel"] == "arbitration" and package.manifest["case"] == str(case["id"])

    with django_capture_on_commit_callbacks(execute=True) as queued:
        assert client.get(page).status_code == 200
    assert queued == []  # nothing changed: the stored package still holds


def test_a_download_serves_the_stored_package_until_the_case_changes(
    api, buyer, case, upload, open_package, django_capture_on_commit_callbacks
):
    from kameng.accounts.services import update_profile

    url = f"/refunds/{case['id']}/complaint?channel=12315"
    first = api.get(url, token=buyer.token).content
    assert api.get(url, token=buyer.token).content == first  # the same build, its date included
    stored = ComplaintPackage.objects.get(case_id=case["id"], channel="12315")

    upload(case, buyer, "again.txt", "再次激活失败：错误代码 0xC004C060".encode(), note="第二次激活")
    with django_capture_on_commit_callbacks(execute=True):
        after_upload = api.get(url, token=buyer.token).content
    package = open_package(after_upload)
    assert len([n for n in package.names() if n.startswith("evidence/")]) == 4  # the new item is in
    assert package.manifest["chain_head"] != open_package(first).manifest["chain_head"]
    replaced = ComplaintPackage.objects.get(case_id=case["id"], channel="12315")
    assert replaced.pk == stored.pk and replaced.fingerprint != stored.fingerprint
    assert not stored.file.storage.exists(stored.file.name)  # the old build's file is gone

    update_profile(buyer, real_name="张三", phone="13800138000", address="上海市某区某路1号")
    filled = open_package(api.get(url, token=buyer.token).content)
    assert package.manifest["missing_fields"] == ["real_name", "phone", "address"]
    assert filled.manifest["missing_fields"] == [] and "张三" in filled.text()


def test_a_stored_package_whose_file_changed_is_built_again(api, buyer, case, open_package):
    url = f"/refunds/{case['id']}/complaint?channel=police"
    api.get(url, token=buyer.token)
    stored = ComplaintPackage.objects.get(case_id=case["id"], channel="police")
    Path(stored.file.path).write_bytes(b"not a zip any more")
    package = open_package(api.get(url, token=buyer.token).content)
    assert package.manifest["channel"] == "police"
    assert ComplaintPackage.objects.get(pk=stored.pk).sha256 != stored.sha256  # stored again


def test_the_job_for_a_case_that_does_not_exist_does_nothing():
    from kameng.timers import jobs

    assert jobs.run("build_complaint", 999_999_999, "12315") is None
    assert not ComplaintPackage.objects.exists()
