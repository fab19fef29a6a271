"""Off-platform contacts in listing text (issue 15.11): 加微信 kameng888, QQ / Telegram ids, phone
numbers, e-mail addresses and chat links in a listing's title, description or promises are refused
at create and update with 400 `listing_off_platform_contact` naming the field; plain product text
(QQ会员 top-ups, licence keys, error codes, version numbers) is not."""

import pytest

from kameng.catalog.models import Listing

CONTACTS = [
    ("title", "Win11 激活码 加微信 kameng888 更便宜"),
    ("description", "有问题扣扣 1 2 3 4 5 6 7 8 找我"),
    ("description", "Telegram: @kameng_shop 私聊优惠"),
    ("description", "客服电话 138 1234 5678"),
    ("description", "售后邮箱 shop@example.com"),
    ("description", "频道 t.me/kamengshop"),
    ("promises", "私下转账打九折"),
]
PLAIN = [
    "腾讯QQ会员12个月 直充到QQ号",
    "Office 2021 密钥 ABCDE-FGHIJ-KLMNO-PQRST-UVWXY，提示 0x8007007B 请在订单页留言",
    "支持 Windows 10 19045 22H2，售价 13800 元以内的机型",
    "不要私下转账，平台担保交易更安全",
]


def _body(field, text):
    body = {"title": "Windows 11 专业版激活码", "description": "正版授权", "promises": ["24小时内激活"]}
    body[field] = [text] if field == "promises" else text
    return body


@pytest.mark.parametrize("field,text", CONTACTS)
def test_a_contact_in_listing_text_is_refused_naming_the_field(api, merchant, field, text):
    res = api.post(
        "/listings",
        {
            "category": "software_license",
            "kind": "card_key",
            "price": 9900,
            "after_sale_days": 7,
            "verification_minutes": 1440,
            "no_reason_refund": False,
            **_body(field, text),
        },
        token=merchant.token,
    )
    assert res.status_code == 400, res.data
    error = res.data["error"]
    assert (error["type"], error["code"], error["param"]) == ("invalid_request", "listing_off_platform_contact", field)
    assert "站外联系方式" in error["message"]
    assert not Listing.objects.exists()


def test_the_english_message_says_why(api, merchant):
    res = api.post(
        "/listings",
        {"category": "software_license", "kind": "card_key", "price": 9900, **_body("title", "加微信 kameng888")},
        token=merchant.token,
        headers={"Accept-Language": "en"},
    )
    assert res.status_code == 400 and "off-platform contacts" in res.data["error"]["message"], res.data


@pytest.mark.parametrize("text", PLAIN)
def test_plain_product_text_is_accepted(make_listing, merchant, text):
    listing = make_listing(merchant, description=text, stock=[])
    assert listing["description"] == text and listing["version"] == 1


def test_an_update_that_adds_a_contact_is_refused_and_the_listing_stays_as_it_was(api, merchant, make_listing):
    listing = make_listing(merchant, stock=[])
    res = api.patch(f"/listings/{listing['id']}", {"promises": ["售后加V：kameng888"]}, token=merchant.token)
    assert res.status_code == 400 and res.data["error"]["param"] == "promises", res.data
    after = api.get(f"/listings/{listing['id']}").data
    assert (after["version"], after["promises"]) == (1, listing["promises"])
