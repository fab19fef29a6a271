"""Notices, ledger memos and credit parts are stored as codes and values and read in the reader's
language (kameng.aftersales.notifications, kameng.ledger.memos)."""

import re

CJK = re.compile(r"[\u3400-\u9fff\uff01-\uff5e\u3000-\u303f]+")


def _visible(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", re.sub(r"<script.*?</script>|<style.*?</style>", "", html, flags=re.S))


# ---- notices: made of a template and values, read in the reader's language ------------------------


def _notice_templates() -> set[str]:
    from kameng.aftersales import lifecycle

    templates = {n.text for spec in lifecycle.PHASES.values() for n in spec.notices}
    templates |= {d.reminder.text for d in lifecycle.DEADLINES}
    templates |= {n.text for r in lifecycle.ROWS for n in r.notices}
    return templates | set(lifecycle.CLOSING.values())


def test_every_case_notice_has_an_english_text_naming_the_same_values():
    from django.utils import translation

    from kameng.aftersales.notifications import fields

    for template in sorted(_notice_templates()):
        with translation.override("en"):
            english = translation.gettext(template)
        assert english != template and not CJK.search(english), template
        assert fields(english) == fields(template), template


def test_a_notification_reads_in_the_language_of_its_reader(login_as, buyer):
    from kameng.aftersales.models import Notification
    from kameng.aftersales.notifications import render_in
    from kameng.clock.services import now

    template = "售后单 {case}：商家提出部分退款 {offer}，请在 {due} 前接受、申请平台介入或撤回"
    params = {"case": 3, "offer": 14950, "due": "2026-12-09T02:58:00+00:00"}
    Notification.objects.create(
        user=buyer,
        kind="merchant_offer",
        text=render_in("zh-hans", template, params),
        template=template,
        params=params,
        created_at=now(),
    )
    client = login_as(buyer)
    chinese = _visible(client.get("/notifications/").content.decode())
    assert "售后单 3：商家提出部分退款 ¥149.50，请在 2026-12-09 10:58 前接受" in chinese  # Beijing time
    client.post("/language/", {"language": "en"})
    english = " ".join(_visible(client.get("/notifications/").content.decode()).split())
    assert "Case 3: the merchant offers a partial refund of ¥149.50; accept" in english
    assert "before 2026-12-09 10:58" in english


def test_wallet_memos_and_credit_parts_follow_the_language():
    from django.utils import translation

    from kameng.ledger.memos import shown

    with translation.override("en"):
        assert shown("订单 KM2026120100000002 放款") == "Order KM2026120100000002: paid to the merchant"
        assert shown("充值 SBX0000000001") == "Top-up SBX0000000001"
        assert shown("Steam 充值卡 KM1 SBX1") == "Steam 充值卡 KM1 SBX1"  # a gateway subject: as stored
    with translation.override("zh-hans"):
        assert shown("订单 KM2026120100000002 放款") == "订单 KM2026120100000002 放款"
