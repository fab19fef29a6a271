"""Pure evidence rules, table-driven and property-based: findings, promise contradictions, the
four elements, buyer risk, content sniffing, and the perceptual-hash bands."""

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from kameng.arbitration import media, rules
from kameng.evidence.uploads import sniff, text_encoding

FINDINGS = [
    ("激活失败：激活码无效", [("activation_failed", "激活失败"), ("activation_failed", "激活码无效")]),
    ("错误代码 0x8007000D", [("error_code", "错误代码 0x8007000D")]),
    ("错误代码：1603", [("error_code", "错误代码：1603")]),
    ("Error code: 0xC004F074", [("error_code", "Error code: 0xC004F074")]),
    ("安装时报 0x80070005 错误", [("error_code", "0x80070005")]),
    ("HTTP 403", [("http_error", "HTTP 403")]),
    ("页面显示 502 Bad Gateway", [("http_error", "502 Bad Gateway")]),
    ("卡密已被使用", [("already_used", "已被使用")]),
    ("账号被封号了", [("account_banned", "账号被封")]),
    ("因为封号无法上线", [("account_banned", "封号")]),
    ("游戏币到账不足，只到了一半", [("amount_short", "到账不足")]),
    ("课程视频无法播放", [("playback_failed", "无法播放")]),
    ("登录失败，密码错误", [("login_failed", "登录失败"), ("login_failed", "密码错误")]),
    ("账号被找回", [("account_recovered", "账号被找回")]),
    ("玩一会就掉线", [("disconnect", "掉线")]),
    ("授权已过期", [("expired", "已过期")]),
    (
        "Activation failed: invalid product key",
        [("activation_failed", "Activation failed"), ("activation_failed", "invalid product key")],
    ),
    ("一切正常，谢谢", []),
    ("价格 403 元，订单 500 份", []),  # numbers that are no HTTP errors
]


@pytest.mark.parametrize(("text", "expected"), FINDINGS)
def test_findings_table(text, expected):
    assert [(f.kind, f.text) for f in rules.find_findings(text, "description")] == expected


PROMISES = [  # (promise, its category, kinds that must contradict it, kinds that must not)
    ("100%稳定激活", "activation", {"activation_failed", "already_used", "error_code", "disconnect"}, {"no_response"}),
    ("24小时内激活", "delivery", {"activation_failed", "not_received"}, {"no_response"}),
    ("1小时内响应", "response", {"no_response"}, {"activation_failed", "already_used", "error_code"}),
    ("永久", "activation", {"expired", "account_banned", "account_recovered"}, set()),
    ("永久有效", "activation", {"expired"}, set()),
    ("7×12小时售后", "response", {"no_response"}, {"activation_failed"}),
    ("秒到账 足额", "delivery", {"amount_short", "not_received"}, set()),
    ("高清课程随时播放", "content", {"playback_failed"}, {"no_response"}),
    ("包不找回", "activation", {"account_recovered"}, set()),
    ("可转正", "activation", {"trial_version"}, set()),
    ("提供安装教程", "content", set(), {"activation_failed"}),
]


@pytest.mark.parametrize(("promise", "category", "must_include", "must_not"), PROMISES)
def test_promise_table(promise, category, must_include, must_not):
    assert rules.promise_category(promise) == category
    kinds = rules.contradicting_kinds(promise)
    assert must_include <= kinds and not (must_not & kinds)


def test_a_promise_is_not_contradicted_by_an_unrelated_finding():
    findings = rules.find_findings("课程视频无法播放", "7")
    assert rules.contradictions(["7×12小时售后"], findings) == []
    assert rules.contradictions(["高清课程随时播放"], findings) == [
        {
            "promise": "高清课程随时播放",
            "finding": "无法播放",
            "finding_kind": "playback_failed",
            "source": "7",
            "also_in": [],
        }
    ]


def test_each_finding_once_against_the_promise_it_contradicts_most_strongest_first():
    """The demo's Windows case: no "1小时内响应" against "激活码无效", the same problem from the
    description and a screenshot once (the screenshot's), at most MAX_CONTRADICTIONS rows."""
    promises = ["30天包稳定激活", "激活失败全额退款", "1小时内响应", "永久"]
    findings = [
        *rules.find_findings("激活时提示“此产品密钥已被使用”（错误代码 0xC004C060），客服不回复", "description"),
        *rules.find_findings("此密钥已被使用 错误代码: 0xC004C060", "12"),
        *rules.find_findings("激活码无效", "13"),
        *rules.find_findings("频繁掉线 登录失败 已过期", "13"),
    ]
    rows = rules.contradictions(promises, findings, {"12": 0, "13": 0, "description": 2})
    pairs = [(r["promise"], r["finding_kind"], r["source"]) for r in rows]
    assert len(rows) == rules.MAX_CONTRADICTIONS
    assert pairs[:3] == [
        ("30天包稳定激活", "already_used", "12"),
        ("30天包稳定激活", "activation_failed", "13"),
        ("1小时内响应", "no_response", "description"),
    ]
    assert rows[0]["also_in"] == ["description"]
    assert ("1小时内响应", "activation_failed") not in {(r["promise"], r["finding_kind"]) for r in rows}
    assert len({(r["finding_kind"], r["finding"]) for r in rows}) == len(rows)


ELEMENTS = [
    ("订单号 KM2024 0501 0001\nWindows 11 专业版\n点击激活\n激活失败", True, True, True),
    ("Windows 11 专业版激活码", False, True, False),
    ("订单号KM202405010001", True, False, False),
    ("", False, False, False),
    ("激活码无效 错误代码 0x8007000D", False, False, False),  # a result on screen, no action shown
    ("输入激活码后提示失败", False, False, True),
]


@pytest.mark.parametrize(("text", "order", "product", "operation"), ELEMENTS)
def test_four_elements_table(text, order, product, operation):
    got = rules.recording_elements(
        text, order_number="KM202405010001", product_name="Windows 11 专业版激活码", problem_found=True
    )
    assert got == {"order_number": order, "product_name": product, "operation": operation, "problem_screen": True}


def test_frames_that_change_count_as_an_operation():
    got = rules.recording_elements("", order_number="1", product_name="x", distinct_frames=3, problem_found=False)
    assert got["operation"] is True and got["problem_screen"] is False


history = st.builds(
    rules.BuyerHistory,
    orders=st.integers(0, 200),
    cases=st.integers(0, 50),
    refunded_cases=st.integers(0, 50),
    refunds_after_confirm=st.integers(0, 20),
    reused_items=st.integers(0, 10),
)


@given(history)
def test_buyer_risk_is_a_bounded_score_with_reasons(h):
    risk = rules.buyer_risk(h)
    assert 0 <= risk["score"] <= 100
    assert risk["reasons"] and all(isinstance(r, str) and r for r in risk["reasons"])


@given(history, st.sampled_from(["cases", "refunds_after_confirm", "reused_items"]))
def test_more_bad_history_never_lowers_the_risk(h, field):
    worse = rules.BuyerHistory(**{**h.__dict__, field: getattr(h, field) + 1})
    assert rules.buyer_risk(worse)["score"] >= rules.buyer_risk(h)["score"]


def test_a_clean_history_scores_zero():
    assert rules.buyer_risk(rules.BuyerHistory(5, 0, 0, 0, 0)) == {
        "score": 0,
        "reasons": ["近90天无其他售后或退款记录"],
    }


@given(st.binary(max_size=512))
def test_sniffing_never_crashes_and_only_names_allowed_types(data):
    assert sniff(data) in (
        None,
        "image/png",
        "image/jpeg",
        "image/webp",
        "image/gif",
        "video/mp4",
        "video/webm",
        "application/pdf",
        "text/plain",
    )


@given(
    st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=300).filter(
        lambda t: not t.lstrip("\ufeff \t\r\n").lower().startswith(("<", "#!"))
    )
)
@example("\ufeffa BOM typed first")
def test_any_human_text_is_text_in_utf8_and_utf16(text):
    # UTF-8 bytes that begin with EF BB BF carry a signature (Notepad's "UTF-8 with BOM"): read as
    # utf-8-sig, which drops it; a text typed with a leading U+FEFF is read the same way.
    utf8 = text.encode("utf-8")
    encoding = text_encoding(utf8)
    assert encoding == ("utf-8-sig" if text.startswith("\ufeff") else "utf-8")
    assert utf8.decode(encoding) == text.removeprefix("\ufeff")
    utf16 = text.encode("utf-16")  # Python writes its own BOM first: a leading U+FEFF stays text
    assert text_encoding(utf16) == "utf-16" and utf16.decode("utf-16") == text


@settings(max_examples=300)
@given(st.integers(0, 2**64 - 1), st.sets(st.integers(0, 63), max_size=5))
def test_hashes_within_five_bits_always_share_a_band(value, flips):
    """Why six indexed bands find every near-duplicate: the pigeonhole principle, checked."""
    other = value
    for bit in flips:
        other ^= 1 << bit
    a, b = f"{value:016x}", f"{other:016x}"
    assert media.hamming(a, b) == len(flips)
    assert any(x == y for x, y in zip(media.bands(a), media.bands(b), strict=True))
