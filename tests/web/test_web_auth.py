"""Register, log in and out with the session; errors appear next to the field they concern."""

from django.test import Client

from kameng.accounts.models import User


def test_register_a_buyer_signs_them_in(client):
    response = client.post(
        "/register/", {"username": "小明", "password": "pass-word-123", "password2": "pass-word-123", "role": "buyer"}
    )
    assert response.status_code == 302 and response["Location"] == "/"
    user = User.objects.get(username="小明")
    assert user.role == "buyer"
    assert client.get("/wallet/").status_code == 200  # the session is live


def test_register_a_merchant_lands_on_the_shop_page(client):
    response = client.post(
        "/register/",
        {"username": "shopkeeper", "password": "pass-word-123", "password2": "pass-word-123", "role": "merchant"},
    )
    assert response["Location"] == "/shop/"
    assert User.objects.get(username="shopkeeper").role == "merchant"


def test_register_errors_are_shown_next_to_their_fields(client, buyer, doc):
    taken = doc(
        client.post(
            "/register/",
            {"username": buyer.username, "password": "pass-word-123", "password2": "pass-word-123", "role": "buyer"},
        )
    )
    assert "用户名已被占用" in taken.field_error("username")

    weak = doc(
        client.post(
            "/register/", {"username": "newbie", "password": "12345678", "password2": "12345678", "role": "buyer"}
        )
    )
    assert weak.field_error("password")
    assert not User.objects.filter(username="newbie").exists()

    mismatch = doc(
        client.post(
            "/register/",
            {"username": "newbie", "password": "pass-word-123", "password2": "pass-word-124", "role": "buyer"},
        )
    )
    assert "两次输入的密码不一致" in mismatch.field_error("password2")

    staff = doc(
        client.post(
            "/register/",
            {"username": "boss", "password": "pass-word-123", "password2": "pass-word-123", "role": "admin"},
        )
    )
    assert staff.field_error("role")
    assert not User.objects.filter(username="boss").exists()


def test_login_and_logout(client, buyer, doc):
    wrong = doc(client.post("/login/", {"username": buyer.username, "password": "nope-nope"}))
    assert "用户名或密码错误" in wrong.field_error("password")

    response = client.post("/login/", {"username": buyer.username, "password": "s3cret-pass-123", "next": "/wallet/"})
    assert response.status_code == 302 and response["Location"] == "/wallet/"
    assert client.get("/wallet/").status_code == 200

    assert client.get("/logout/").status_code == 405  # logging out changes state: POST only
    assert client.post("/logout/").status_code == 302
    assert client.get("/wallet/").status_code == 302


def test_login_never_redirects_off_site(client, buyer):
    response = client.post(
        "/login/", {"username": buyer.username, "password": "s3cret-pass-123", "next": "https://evil.example/steal"}
    )
    assert response["Location"] == "/"


def test_forms_are_protected_by_csrf(buyer):
    client = Client(enforce_csrf_checks=True)
    # Without the token the post is refused…
    assert client.post("/login/", {"username": buyer.username, "password": "s3cret-pass-123"}).status_code == 403
    # …with the token from the page it goes through.
    page = client.get("/login/")
    token = page.cookies["csrftoken"].value
    response = client.post(
        "/login/", {"username": buyer.username, "password": "s3cret-pass-123", "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302
    # Signed-in state-changing forms need it too (the session rotates the token on login).
    assert client.post("/wallet/", {"amount": "10.00"}).status_code == 403
    assert client.post("/logout/").status_code == 403
