"""Evidence assist for arbitrators: offline OCR, findings, promise contradictions, the four
elements, reused images across cases, buyer risk; computed after each upload; arbitrators only."""

import ipaddress
import socket
from pathlib import Path

import pytest

from kameng.arbitration import ocr
from kameng.evidence.models import CaseAnalysis, EvidenceExtract

from .conftest import encode, pattern_image, png_bytes, text_image, video_bytes

ASSIST_KEYS = {"checklist", "promises", "findings", "contradictions", "buyer_risk", "reused_evidence", "similar_cases"}


@pytest.fixture
def no_network(monkeypatch):
    """Any connection outside this machine fails loudly (the database may be local PostgreSQL)."""
    real_connect = socket.socket.connect

    def guarded(self, address):
        host = address[0] if isinstance(address, tuple) else None
        if host is not None:
            try:
                local = ipaddress.ip_address(host).is_loopback
            except ValueError:
                local = host == "localhost"
            if not local:
                raise OSError(f"network access attempted during OCR: {address}")
        return real_connect(self, address)

    real_getaddrinfo = socket.getaddrinfo

    def lookup(host, *args, **kwargs):
        if host not in ("localhost", "127.0.0.1", "::1"):
            raise OSError(f"DNS lookup attempted during OCR: {host}")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    monkeypatch.setattr(socket, "getaddrinfo", lookup)


def test_ocr_models_ship_inside_the_installed_wheel():
    import rapidocr

    package = Path(rapidocr.__file__).resolve().parent
    for path in ocr.model_files().values():
        assert path.is_file() and path.stat().st_size > 1_000_000
        assert package in path.parents  # inside site-packages, not a cache that was downloaded


def test_ocr_reads_a_generated_chinese_screenshot_offline(no_network):
    image = text_image(["激活失败：激活码无效", "错误代码 0x8007000D", "Login failed"])
    text = ocr.read_text(image)
    assert "激活码无效" in text
    assert "0x8007000D" in text.replace(" ", "")
    assert "login failed" in text.lower()


def _arbitrator_view(api, case_id, user):
    res = api.get(f"/refunds/{case_id}/assist", token=user.token)
    assert res.status_code == 200, res.data
    assert set(res.data) == ASSIST_KEYS
    return res.data


def test_assist_is_for_arbitrators_and_admins_only(api, make_user, buyer, merchant, case):
    path = f"/refunds/{case['id']}/assist"
    assert _arbitrator_view(api, case["id"], make_user("arbitrator"))
    assert _arbitrator_view(api, case["id"], make_user("admin"))
    for party in (buyer, merchant):
        res = api.get(path, token=party.token)
        assert res.status_code == 403 and res.data["error"]["type"] == "permission_denied"
    assert api.get(path, token=make_user("buyer").token).status_code == 404
    assert api.get(path).status_code == 401


def test_contradiction_for_a_stable_activation_promise_against_an_invalid_key_screenshot(
    api, buyer, arbitrator, delivered_order, open_case, upload, django_capture_on_commit_callbacks, no_network
):
    case = open_case(delivered_order, description="买到的激活码用不了")
    shot = text_image(["Windows 激活", "激活码无效 错误代码 0x8007000D"])
    with django_capture_on_commit_callbacks(execute=True):
        res = upload(case["id"], buyer, png_bytes(shot), name="error.png")
    assert res.status_code == 201, res.data
    evidence_id = res.data["id"]

    # analysed in the background after the upload committed, stored for the arbitrator
    analysis = CaseAnalysis.objects.get(case_id=case["id"])
    manifest = api.get(f"/refunds/{case['id']}/evidence/manifest", token=buyer.token).data
    assert analysis.head == manifest["head"]
    assert EvidenceExtract.objects.get(evidence_id=evidence_id).text_source == "ocr"

    data = _arbitrator_view(api, case["id"], arbitrator)
    assert data["promises"][:2] == ["100%稳定激活", "24小时内激活"]
    mine = [f for f in data["findings"] if f["source"] == evidence_id]
    assert {"kind": "activation_failed", "text": "激活码无效", "source": evidence_id}.items() <= mine[0].items()
    assert any(f["kind"] == "error_code" and "0x8007000D" in f["text"] for f in mine)
    against = {(c["promise"], c["finding"]) for c in data["contradictions"]}
    assert ("100%稳定激活", "激活码无效") in against
    assert any(p == "100%稳定激活" and "0x8007000D" in f for p, f in against)
    assert data["checklist"] == {"listing": True, "transaction": True, "communication": False, "problem": True}


def test_findings_come_from_the_description_and_chat_with_their_source(
    api, buyer, merchant, arbitrator, delivered_order, open_case
):
    api.post(
        f"/orders/{delivered_order['id']}/messages", {"body": "卡密显示已被使用，登录失败，HTTP 403"}, token=buyer.token
    )
    case = open_case(delivered_order, description="激活码无效，提示错误代码 0x8007007B，频繁掉线")
    data = _arbitrator_view(api, case["id"], arbitrator)
    by_source = {}
    for f in data["findings"]:
        by_source.setdefault(f["source"], set()).add((f["kind"], f["text"]))
    assert {("activation_failed", "激活码无效"), ("disconnect", "频繁掉线")} <= by_source["description"]
    assert any(kind == "error_code" and "0x8007007B" in text for kind, text in by_source["description"])
    chat_log = next(e["id"] for e in case["evidence"] if e["category"] == "communication")
    assert {("already_used", "已被使用"), ("login_failed", "登录失败"), ("http_error", "HTTP 403")} <= by_source[
        chat_log
    ]
    assert data["checklist"]["communication"] is True  # there was a conversation
    assert data["checklist"]["problem"] is False  # nothing uploaded yet
    kinds = {c["finding_kind"] for c in data["contradictions"] if c["promise"] == "100%稳定激活"}
    assert {"activation_failed", "disconnect", "already_used"} <= kinds


def test_screenshot_is_checked_for_the_four_elements(api, buyer, arbitrator, delivered_order, open_case, upload):
    case = open_case(delivered_order)
    shot = text_image(
        [f"订单号 {delivered_order['number']}", "Windows 11 专业版激活码", "点击 激活 后提示：激活码无效"],
        size=(1000, 80),
    )
    item = upload(case["id"], buyer, png_bytes(shot), name="full.png").data["id"]
    partial = upload(case["id"], buyer, png_bytes(text_image(["激活失败"], size=(500, 80))), name="crop.png").data["id"]
    data = _arbitrator_view(api, case["id"], arbitrator)  # analysed on demand when not analysed yet
    elements = {f["source"]: f for f in data["findings"] if f["kind"] == "recording_elements"}
    assert elements[item]["elements"] == {
        "order_number": True,
        "product_name": True,
        "operation": True,
        "problem_screen": True,
    }
    assert elements[item]["text"].startswith("截图四要素：订单号✓")
    assert elements[partial]["elements"]["order_number"] is False
    assert elements[partial]["elements"]["problem_screen"] is True


def test_video_frames_are_read_for_findings_and_elements(
    api, buyer, arbitrator, delivered_order, open_case, upload, no_network
):
    case = open_case(delivered_order)
    frames = [
        text_image([f"订单号 {delivered_order['number']}"], size=(640, 360)),
        text_image(["Windows 11 专业版激活码", "输入激活码 点击激活"], size=(640, 360)),
        text_image(["激活失败", "错误代码 0xC004C003"], size=(640, 360)),
    ]
    video = video_bytes([f for f in frames for _ in range(4)], "mp4", fps=2)  # 6 seconds, 3 screens
    res = upload(case["id"], buyer, video, name="recording.mp4")
    assert res.status_code == 201, res.data
    data = _arbitrator_view(api, case["id"], arbitrator)
    extract = EvidenceExtract.objects.get(evidence_id=res.data["id"])
    assert extract.text_source == "video_ocr" and extract.frames == 3
    mine = [f for f in data["findings"] if f["source"] == res.data["id"]]
    assert any(f["kind"] == "error_code" and "0xC004C003" in f["text"] for f in mine)
    element = next(f for f in mine if f["kind"] == "recording_elements")
    assert element["text"].startswith("录屏四要素")
    assert element["elements"] == {
        "order_number": True,
        "product_name": True,
        "operation": True,
        "problem_screen": True,
    }


def test_the_same_image_in_another_case_is_reported_as_reused(
    api,
    buyer,
    merchant,
    arbitrator,
    make_user,
    make_listing,
    fund,
    buy,
    open_case,
    upload,
    django_capture_on_commit_callbacks,
):
    listing = make_listing(merchant)
    other_buyer = make_user("buyer")
    fund(buyer, 100000)
    fund(other_buyer, 100000)
    first = open_case(buy(buyer, listing))
    second = open_case(buy(other_buyer, listing), token=other_buyer.token)
    picture = pattern_image(seed=7, size=(640, 480))

    def upload_and_analyse(*args, **kwargs):  # as in production: analysed once the upload commits
        with django_capture_on_commit_callbacks(execute=True):
            res = upload(*args, **kwargs)
        assert res.status_code == 201, res.data
        return res.data["id"]

    original = upload_and_analyse(first["id"], buyer, png_bytes(picture), name="proof.png")
    same = upload_and_analyse(second["id"], other_buyer, png_bytes(picture), name="mine.png")
    # a re-encoded, resized copy: not the same bytes, the same picture
    near = upload_and_analyse(
        second["id"], other_buyer, encode(picture.resize((480, 360)), "JPEG", quality=70), name="copy.jpg"
    )
    unrelated = upload_and_analyse(
        second["id"], other_buyer, png_bytes(pattern_image(seed=99, size=(640, 480))), name="other.png"
    )

    data = _arbitrator_view(api, second["id"], arbitrator)
    reused = {r["evidence"]: r for r in data["reused_evidence"]}
    assert set(reused) == {same, near}
    assert reused[same]["other_case"] == first["id"] and reused[same]["match"] == "identical"
    assert reused[same]["other_evidence"] == original
    assert reused[near]["other_case"] == first["id"] and reused[near]["match"] == "similar"
    assert unrelated not in reused
    assert any("相同或近似" in reason for reason in data["buyer_risk"]["reasons"])

    back = _arbitrator_view(api, first["id"], arbitrator)  # seen from the first case too
    assert {(r["evidence"], r["other_case"]) for r in back["reused_evidence"]} == {(original, second["id"])}


def test_buyer_risk_reads_the_refund_history_as_context(
    api, buyer, merchant, arbitrator, make_listing, fund, buy, open_case
):
    listing = make_listing(merchant, stock=[f"K-{i}" for i in range(6)])
    fund(buyer, 100000)
    first_order = buy(buyer, listing)
    clean = _arbitrator_view(api, open_case(first_order)["id"], arbitrator)["buyer_risk"]
    assert clean == {"score": 0, "reasons": ["近90天无其他售后或退款记录"]}

    # earlier refunds, two of them after the buyer had confirmed receipt
    for _ in range(3):
        order = buy(buyer, listing)
        assert api.post(f"/orders/{order['id']}/confirm", token=buyer.token).status_code == 200
        c = open_case(order)
        assert api.post(f"/refunds/{c['id']}/accept", token=merchant.token).status_code == 200
    latest = open_case(buy(buyer, listing))
    risk = _arbitrator_view(api, latest["id"], arbitrator)["buyer_risk"]
    assert 40 <= risk["score"] <= 100
    text = " ".join(risk["reasons"])
    assert "近90天另有 4 次售后申请" in text
    assert "确认收货" in text


def test_pictures_get_a_separate_derived_preview_and_the_original_is_untouched(
    api, make_user, buyer, merchant, case, upload, media_root
):
    import hashlib
    import io

    from PIL import Image

    from kameng.evidence.models import Evidence

    original = png_bytes(pattern_image(seed=3, size=(1600, 1200)))
    item_id = upload(case["id"], buyer, original, name="big.png").data["id"]
    text_id = upload(case["id"], buyer, "说明\n".encode(), name="n.txt").data["id"]
    url = f"/api/v1/refunds/{case['id']}/evidence/{item_id}/preview"
    got = api.client.get(url, headers={"Authorization": f"Bearer {merchant.token}"})
    assert got.status_code == 200
    assert got["Content-Type"] == "image/jpeg" and got["X-Content-Type-Options"] == "nosniff"
    thumb = Image.open(io.BytesIO(b"".join(got.streaming_content)))
    assert thumb.format == "JPEG" and max(thumb.size) == 640
    item = Evidence.objects.get(pk=item_id)
    assert hashlib.sha256((media_root / item.file.name).read_bytes()).hexdigest() == item.sha256
    assert item.extract.preview.name.startswith("evidence-previews/")
    no_preview = api.client.get(
        f"/api/v1/refunds/{case['id']}/evidence/{text_id}/preview", headers={"Authorization": f"Bearer {buyer.token}"}
    )
    assert no_preview.status_code == 404
    outsider = api.client.get(url, headers={"Authorization": f"Bearer {make_user('buyer').token}"})
    assert outsider.status_code == 404


def test_assist_is_described_in_the_openapi_document(api):
    doc = api.get("/openapi.json").data
    operation = doc["paths"]["/api/v1/refunds/{case_id}/assist"]["get"]
    ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert set(doc["components"]["schemas"][ref]["properties"]) == ASSIST_KEYS


def test_the_demo_windows_case_compares_promises_with_problems_not_multiplies_them(
    api, buyer, merchant, arbitrator, make_listing, fund, buy, open_case, upload
):
    """The demo's texts (kameng.demo, kameng.aftersales.demo): one row per problem against the promise it
    contradicts, no response-time promise against a dead key, no stray "永久）" read from the title."""
    listing = make_listing(
        merchant,
        title="Windows 11 专业版 零售激活码（永久）",
        description="微软官方零售版密钥，支持全新安装和家庭版升级专业版。下单后自动发卡，"
        "请在设置-激活中输入。激活失败请在售后期内联系客服。",
        promises=["30天包稳定激活", "激活失败全额退款", "1小时内响应"],
    )
    fund(buyer, 10000)
    order = buy(buyer, listing)
    api.post(f"/orders/{order['id']}/messages", {"body": "密钥已被使用，错误代码 0xC004C060"}, token=buyer.token)
    case = open_case(order, description="激活时提示“此产品密钥已被使用”（错误代码 0xC004C060），换了两台电脑都一样。")
    shot = upload(case["id"], buyer, png_bytes(text_image(["此产品密钥已被使用", "错误代码 0xC004C060"])), name="e.png")
    data = _arbitrator_view(api, case["id"], arbitrator)

    assert "永久" in data["promises"] and not any("）" in p or "(" in p for p in data["promises"])
    rows = data["contradictions"]
    assert 1 <= len(rows) <= 4
    assert all(r["promise"] != "1小时内响应" for r in rows)  # response time: only silence contradicts it
    assert len({(r["finding_kind"], r["finding"]) for r in rows}) == len(rows)
    used = [r for r in rows if r["finding_kind"] == "already_used"]
    assert len(used) == 1 and used[0]["promise"] == "30天包稳定激活"
    assert used[0]["source"] == shot.data["id"] and used[0]["source_label"].endswith("e.png")
    assert len(used[0]["also_in"]) == 2  # the chat log and the description said it too
    codes = [r for r in rows if r["finding_kind"] == "error_code"]
    assert len(codes) == 1 and "0xC004C060" in codes[0]["finding"]
