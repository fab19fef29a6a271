"""kameng.compiled's writes store what Django's own writes store: `insert_rows` (one row, and many: the
packed JSON rows on PostgreSQL, arrays where a value is not JSON's) against bulk_create, and
`update_rows` (one row, many rows) against save(update_fields=…). Run on both databases."""

from datetime import UTC, date, datetime, timedelta

import pytest
from psycopg.types.json import Jsonb

from kameng.aftersales.models import Notification
from kameng.compiled import as_json_rows, copied, insert_rows, update_rows

pytestmark = pytest.mark.django_db

AT = datetime(2026, 12, 7, 23, 59, 58, 123456, tzinfo=UTC)
COLUMNS = ("user_id", "case_id", "kind", "text", "template", "params", "created_at", "read_at", "delivered_to")


def notices(user, count: int, tag: str) -> list[Notification]:
    return [
        Notification(
            user=user,
            kind=f"{tag}-{i}",
            text=f"售后单 {i} 'quoted' \"double\" \\ back",
            template="售后单 {case}",
            params={"case": i, "amount": 1999, "nested": {"list": [1, "二", None, True]}, "text": "a\nb"},
            created_at=AT + timedelta(seconds=i),
            read_at=None if i % 2 else AT,
            delivered_to=[{"channel": "email", "to": "b***@example.com"}] if i else [],
        )
        for i in range(count)
    ]


def stored(tag: str) -> list[tuple]:
    """The rows of one side, in order, with the side's tag taken out of `kind`."""
    rows = Notification.objects.filter(kind__startswith=f"{tag}-").order_by("kind").values_list(*COLUMNS)
    return [(*row[:2], row[2].removeprefix(f"{tag}-"), *row[3:]) for row in rows]


@pytest.mark.parametrize("count", [1, 3])
def test_insert_rows_stores_what_bulk_create_stores_and_sets_the_keys(buyer, count):
    ours = insert_rows(Notification, notices(buyer, count, "ours"))
    Notification.objects.bulk_create(notices(buyer, count, "django"))
    assert all(n.pk is not None and not n._state.adding for n in ours)
    assert [n.pk for n in ours] == sorted(n.pk for n in ours)  # in the order given
    assert Notification.objects.get(pk=ours[-1].pk).kind == f"ours-{count - 1}"
    assert stored("ours") == stored("django")
    assert stored("ours")[0][5]["nested"] == {"list": [1, "二", None, True]}


def test_rows_with_a_value_json_cannot_carry_are_not_packed():
    at, types = AT.isoformat(), ("bigint", "text", "text", "boolean", "double precision", "timestamptz")
    assert as_json_rows([(1, "a", None, True, 1.5, AT)], types) == [(1, "a", None, True, 1.5, at)]
    assert as_json_rows([(1, date(2026, 12, 7))], ("bigint", "date")) is None  # many_rows' arrays instead
    assert as_json_rows([(1, b"bytes")], ("bigint", "bytea")) is None
    assert as_json_rows([(1, datetime(2026, 12, 7, 23, 0))], ("bigint", "timestamptz")) is None  # naive
    # SQL NULL in a JSON column would be stored as JSON's null once packed (a case's `decision` is NULL
    # until there is one); JSON's own null (Jsonb(None)) is packed as it is.
    assert as_json_rows([(1, None)], ("bigint", "jsonb")) is None
    assert as_json_rows([(1, Jsonb(None)), (2, Jsonb({"a": 1}))], ("bigint", "jsonb")) == [(1, None), (2, {"a": 1})]


@pytest.mark.parametrize("count", [1, 3])
def test_update_rows_stores_what_save_with_update_fields_stores(buyer, count):
    ours = insert_rows(Notification, notices(buyer, count, "ours"))
    theirs = insert_rows(Notification, notices(buyer, count, "django"))
    for group in (ours, theirs):
        for n in group:
            n.read_at, n.params = AT + timedelta(days=1), {**n.params, "seen": "是"}
    update_rows(Notification, ours, ["read_at", "params"])
    for n in theirs:
        n.save(update_fields=["read_at", "params"])
    assert stored("ours") == stored("django")
    assert all(row[7] == AT + timedelta(days=1) and row[5]["seen"] == "是" for row in stored("ours"))


def test_copied_is_copy_copy_of_an_instance_without_the_pickling(buyer):
    """`copied` gives what copy.copy gives: the same field values and related objects cached, its own
    __dict__, ModelState and cache (a later change to either side stays on that side), `without` left out."""
    import copy

    (notice,) = insert_rows(Notification, notices(buyer, 1, "copied"))
    loaded = Notification.objects.select_related("user").get(pk=notice.pk)
    loaded._marker = "held"
    ours, theirs = copied(loaded, without=["_marker"]), copy.copy(loaded)
    del theirs.__dict__["_marker"]
    del theirs.__dict__["_django_version"]  # the pickling's version key, which copy.copy leaves behind
    for clone in (ours, theirs):
        assert type(clone) is Notification and clone is not loaded
        assert {k: v for k, v in clone.__dict__.items() if k != "_state"} == {
            k: v for k, v in theirs.__dict__.items() if k != "_state"
        }
        assert (clone._state.db, clone._state.adding) == ("default", False)
        assert clone._state.fields_cache == {"user": loaded.user} and clone._state is not loaded._state
        assert "peers" not in clone._state.__dict__
    assert "_marker" in loaded.__dict__ and "_marker" not in ours.__dict__
    ours.kind = "changed"
    ours._state.fields_cache.clear()
    assert loaded.kind == "copied-0" and loaded._state.fields_cache == {"user": loaded.user}
    assert Notification.objects.get(pk=notice.pk).user_id == ours.user_id
