"""The account page changes the e-mail address and the password. A new address is used only once its
owner opens the link mailed to it (24 h by the platform's clock, signed in as that user, one use); the
old address is told. A new password ends every API token and every other browser session, never
this one. Wrong passwords and bad links change nothing."""

import re
from datetime import timedelta

from django.core import mail
from django.test import Client

from kameng.accounts.models import User

PASSWORD = "s3cret-pass-123"  # make_user's


def _link(message) -> str:
    return re.search(r"https?://\S+(/account/email/confirm/\S+)", message.body).group(1)


def _ask(client, capture, email, password=PASSWORD):
    with capture(execute=True):
        return client.post("/account/security/", {"step": "email", "email": email, "current_password": password})


def test_a_new_email_applies_once_its_link_is_opened_and_the_old_address_is_told(
    buyer, login_as, doc, django_capture_on_commit_callbacks
):
    User.objects.filter(pk=buyer.pk).update(email="old@example.com")
    client = login_as(buyer)
    page = doc(client.get("/account/security/"))
    assert "售后通知和订单通知会发到 o***@example.com" in page.text()

    wrong = doc(_ask(client, django_capture_on_commit_callbacks, "new@example.com", "not-my-password"))
    assert "当前密码不正确" in wrong.field_error("current_password") and mail.outbox == []
    bad = doc(_ask(client, django_capture_on_commit_callbacks, "new-at-example"))
    assert "邮箱地址格式不正确" in bad.field_error("email") and mail.outbox == []
    same = doc(_ask(client, django_capture_on_commit_callbacks, "OLD@example.com"))
    assert "这已经是你的邮箱" in same.field_error("email") and mail.outbox == []

    sent = _ask(client, django_capture_on_commit_callbacks, " new@example.com ")
    assert sent.status_code == 302 and sent["Location"] == "/account/security/"
    assert "确认邮件已发送到 n***@example.com" in doc(client.get("/account/security/")).text()
    [confirm] = mail.outbox
    assert confirm.to == ["new@example.com"] and confirm.subject == "[卡盟] 确认你的新邮箱"
    link = _link(confirm)
    assert User.objects.get(pk=buyer.pk).email == "old@example.com"  # not before the link is opened

    page = client.get(link)  # a mail scanner's GET changes nothing
    assert page.status_code == 200 and User.objects.get(pk=buyer.pk).email == "old@example.com"
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(link)
    assert done.status_code == 302 and User.objects.get(pk=buyer.pk).email == "new@example.com"
    told = mail.outbox[-1]
    assert told.to == ["old@example.com"] and told.subject == "[卡盟] 你的邮箱已更改"
    assert "n***@example.com" in told.body and "new@example.com" not in told.body
    again = client.post(link)  # used: the address it replaces is no longer the user's
    assert again.status_code == 400 and "确认链接无效或已被使用" in doc(again).text()


def test_a_link_works_only_for_its_own_account_and_for_24_hours(
    buyer, make_user, login_as, doc, advance, django_capture_on_commit_callbacks
):
    client = login_as(buyer)  # no address yet: the first one is confirmed the same way, nobody to tell
    _ask(client, django_capture_on_commit_callbacks, "first@example.com")
    link = _link(mail.outbox[-1])
    assert Client().get(link)["Location"].startswith("/login/")  # signed in, as the account
    other = login_as(make_user("buyer"))
    assert other.post(link).status_code == 400 and User.objects.get(pk=buyer.pk).email == ""
    tampered = link[:-3] + ("aaa" if not link.endswith("aaa") else "bbb")
    assert client.post(tampered).status_code == 400
    advance(timedelta(hours=24, minutes=1).total_seconds())
    late = client.post(link)
    assert late.status_code == 400 and "确认链接已超过 24 小时" in doc(late).text()
    assert User.objects.get(pk=buyer.pk).email == ""
    _ask(client, django_capture_on_commit_callbacks, "first@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(_link(mail.outbox[-1])).status_code == 302
    assert User.objects.get(pk=buyer.pk).email == "first@example.com"
    assert [m.to for m in mail.outbox] == [["first@example.com"], ["first@example.com"]]


def test_an_english_reader_gets_the_mail_in_english(buyer, login_as, django_capture_on_commit_callbacks):
    User.objects.filter(pk=buyer.pk).update(language="en")
    _ask(login_as(buyer), django_capture_on_commit_callbacks, "new@example.com")
    [confirm] = mail.outbox
    assert confirm.subject == "[kameng] Confirm your new e-mail address"
    assert confirm.body.startswith(f"You are changing the e-mail address of the kameng account {buyer.username}")


def test_a_new_password_ends_other_sessions_and_tokens_but_not_this_one(api, buyer, login_as, doc):
    client, elsewhere = login_as(buyer), login_as(buyer)
    form = {"step": "password", "current_password": "wrong", "password": "n3w-pass-word", "password2": "x"}
    mismatch = doc(client.post("/account/security/", {**form, "current_password": PASSWORD}))
    assert "两次输入的密码不一致" in mismatch.field_error("password2")
    form["password2"] = form["password"]
    wrong = doc(client.post("/account/security/", form))
    assert "当前密码不正确" in wrong.field_error("current_password")
    weak_form = {**form, "current_password": PASSWORD, "password": "12345678", "password2": "12345678"}
    assert "密码" in doc(client.post("/account/security/", weak_form)).field_error("password")
    assert api.get("/me", token=buyer.token).status_code == 200  # nothing changed so far

    done = client.post("/account/security/", {**form, "current_password": PASSWORD})
    assert done.status_code == 302
    assert "密码已修改" in doc(client.get("/account/security/")).text()  # this session stays
    assert elsewhere.get("/account/security/")["Location"].startswith("/login/")
    assert api.get("/me", token=buyer.token).status_code == 401
    assert User.objects.get(pk=buyer.pk).check_password("n3w-pass-word")


def test_the_account_forms_and_the_confirm_page_read_in_english(buyer, login_as, django_capture_on_commit_callbacks):
    def visible(page) -> str:  # the text, less the language switch's own name (lang="zh-Hans")
        html = re.sub(r"<script.*?</script>|<style.*?</style>", "", page.content.decode(), flags=re.S)
        html = re.sub(r'<(\w+)[^>]*\blang="zh(?:-Hans)?"[^>]*>.*?</\1>', "", html, flags=re.S)
        return " ".join(re.sub(r"<[^>]+>", " ", html).split())

    User.objects.filter(pk=buyer.pk).update(language="en")
    client = login_as(buyer)
    client.post("/language/", {"language": "en"})
    wrong = client.post("/account/security/", {"step": "email", "email": "x@example.com", "current_password": "no"})
    _ask(client, django_capture_on_commit_callbacks, "new@example.com")
    pages = [
        wrong,
        client.get("/account/security/"),
        client.get(_link(mail.outbox[-1])),
        client.post(_link(mail.outbox[-1]) + "x"),
    ]
    for page in pages:
        text = visible(page)
        assert "Current password" in text or "Confirm" in text, text[:200]
        assert not re.search(r"[\u3400-\u9fff]", text), re.findall(r"[\u3400-\u9fff]+", text)[:5]
    assert "The current password is wrong" in visible(wrong)
    assert "Confirm the new address" in visible(pages[2])
    assert "not valid or was used already" in visible(pages[3])
