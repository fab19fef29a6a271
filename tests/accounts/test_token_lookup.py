"""The bearer-token lookup (accounts.services.token_for, one fixed statement through kameng.compiled)
answers what the ORM query it replaced answered: the same token and user, or None, for valid,
expired, revoked, unknown and altered tokens, inactive users and staff under KAMENG_STAFF_OTP."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kameng.accounts.models import ApiToken, User
from kameng.accounts.services import token_for, user_for_token
from kameng.clock.services import now as clock_now


def orm_token_for(raw: str) -> ApiToken | None:
    """The lookup as it was before the fixed statement (main at 260e210)."""
    token = (
        ApiToken.objects.select_related("user").filter(key_hash=ApiToken.hash(raw), expires_at__gt=clock_now()).first()
    )
    if token is None or not token.user.is_active:
        return None
    return token


def fields(instance) -> dict:
    return {f.attname: getattr(instance, f.attname) for f in type(instance)._meta.concrete_fields}


def assert_same_answer(raw: str) -> ApiToken | None:
    expected, found = orm_token_for(raw), token_for(raw)
    if expected is None:
        assert found is None
        assert user_for_token(raw) is None
        return None
    assert found is not None
    assert fields(found) == fields(expected)
    with CaptureQueriesContext(connection) as queries:
        assert fields(found.user) == fields(expected.user)  # the user came with the token
    assert len(queries) == 0
    assert user_for_token(raw) == expected.user
    return found


def test_a_valid_token_answers_its_token_and_user_in_one_statement(make_user):
    user = make_user("merchant")
    with CaptureQueriesContext(connection) as queries:
        token_for(user.token)
    # The test clock's offset is a read of its own (KAMENG_TEST_CLOCK, never on in production).
    statements = [q["sql"] for q in queries if "clock_clockoffset" not in q["sql"]]
    assert len(statements) == 1 and "accounts_user" in statements[0]
    found = assert_same_answer(user.token)
    assert found is not None and found.user.pk == user.pk and found.user.role == "merchant"
    assert found.user._state.db == "default" and not found.user._state.adding
    assert found.user.get_deferred_fields() == set()


def test_an_expired_token_answers_nothing_from_its_end_on(make_user):
    user = make_user("buyer")
    moment = clock_now()
    for expires_at, answers in (
        (moment + timedelta(minutes=1), True),
        (moment, False),
        (moment - timedelta(days=1), False),
    ):
        ApiToken.objects.filter(key_hash=ApiToken.hash(user.token)).update(expires_at=expires_at)
        assert (assert_same_answer(user.token) is not None) is answers


def test_a_revoked_or_unknown_token_answers_nothing(make_user):
    user = make_user("buyer")
    ApiToken.objects.filter(user=user).delete()
    assert assert_same_answer(user.token) is None
    assert assert_same_answer("no-such-token") is None
    assert assert_same_answer("") is None


@pytest.mark.parametrize("alter", [lambda raw: raw[:-1], lambda raw: raw + "x", lambda raw: "x" + raw, str.upper])
def test_an_altered_token_answers_nothing(make_user, alter):
    user = make_user("buyer")
    assert alter(user.token) != user.token
    assert assert_same_answer(alter(user.token)) is None
    assert assert_same_answer(user.token) is not None


def test_an_inactive_user_s_token_answers_nothing(make_user):
    user = make_user("buyer")
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert assert_same_answer(user.token) is None
    User.objects.filter(pk=user.pk).update(is_active=True)
    assert assert_same_answer(user.token) is not None


def test_staff_tokens_answer_as_before_when_the_second_factor_is_required(make_user, settings):
    settings.STAFF_OTP_REQUIRED = True  # the factor is asked at login; an issued token stays valid
    for role in ("arbitrator", "admin"):
        user = make_user(role)
        found = assert_same_answer(user.token)
        assert found is not None and found.user.is_staff_role


def test_each_user_gets_their_own_token_back(make_user):
    users = [make_user(role) for role in ("buyer", "merchant", "arbitrator", "admin")]
    for user in users:
        assert assert_same_answer(user.token).user.pk == user.pk


def test_the_api_answers_the_same_statuses_through_the_lookup(api, make_user):
    user, gone = make_user("buyer"), make_user("buyer")
    ApiToken.objects.filter(user=gone).delete()
    me = api.get("/me", token=user.token)
    assert me.status_code == 200 and me.data["username"] == user.username
    for raw in (gone.token, user.token + "x", "nothing"):
        res = api.get("/me", token=raw)
        assert res.status_code == 401 and res.data["error"]["code"] == "authentication_required"
