"""Answer schemas (api.contract.Out): a dict answer is validated once per schema, with every check
ninja's two passes made (undeclared fields refused at every depth, types checked); anything that is
not a plain dict still goes through ninja's DjangoGetter (attributes, resolvers, managers, calls)."""

from types import SimpleNamespace

import pytest
from ninja import Schema
from pydantic import ConfigDict, ValidationError, field_validator

from kameng.accounts.models import User
from kameng.api.contract import Out

validations: list[str] = []


class ItemOut(Out):
    id: str
    size: int

    @field_validator("id")
    @classmethod
    def _counted(cls, value: str) -> str:
        validations.append(value)
        return value


class BoxOut(Out):
    label: str
    first: ItemOut
    items: list[ItemOut]


class NamedOut(Out):
    name: str
    initials: str

    @staticmethod
    def resolve_initials(obj) -> str:
        return "".join(part[0] for part in obj["name"].split())


class UsernamesOut(Out):
    usernames: list[str]


def box(**changes) -> dict:
    return {
        "label": "b",
        "first": {"id": "1", "size": 1},
        "items": [{"id": "2", "size": 2}, {"id": "3", "size": 3}],
    } | changes


def test_a_dict_answer_is_validated_once_per_nested_schema():
    validations.clear()
    answer = BoxOut.model_validate(box())
    assert answer.model_dump() == box()
    assert sorted(validations) == ["1", "2", "3"]


@pytest.mark.parametrize(
    "answer",
    [
        box(extra=1),
        box(first={"id": "1", "size": 1, "extra": 1}),
        box(items=[{"id": "2", "size": 2}, {"id": "3", "size": 3, "extra": 1}]),
        box(first={"id": "1", "size": "many"}),
        box(items=[{"id": "2"}]),
    ],
)
def test_undeclared_fields_and_wrong_types_are_refused_at_every_depth(answer):
    with pytest.raises(ValidationError):
        BoxOut.model_validate(answer)


def test_objects_are_still_read_through_their_attributes():
    item = SimpleNamespace(id="7", size=7)
    answer = BoxOut.model_validate(SimpleNamespace(label="o", first=item, items=[item]))
    assert answer.first.id == "7" and answer.items[0].size == 7


def test_a_schema_with_a_resolver_still_resolves():
    assert NamedOut.model_validate({"name": "Ann Lee", "initials": ""}).initials == "AL"


class NinjaItemOut(Schema):
    """ninja's own validator (two passes), for comparison."""

    model_config = ConfigDict(extra="forbid")
    id: str
    size: int


class NinjaUsernamesOut(Schema):
    model_config = ConfigDict(extra="forbid")
    usernames: list[str]


def outcome(schema, value):
    try:
        return schema.model_validate(value).model_dump()
    except ValidationError as exc:
        return [(e["loc"], e["type"]) for e in exc.errors()]


def test_calls_and_querysets_in_a_dict_answer_as_under_ninja_s_two_passes(db):
    User.objects.create(username="zed")
    for value in ({"id": lambda: "9", "size": 9}, {"id": "9", "size": 9}, {"id": 9, "size": "9"}, {"id": "9"}):
        assert outcome(ItemOut, value) == outcome(NinjaItemOut, value)
    for value in (
        {"usernames": User.objects.values_list("username", flat=True)},
        {"usernames": User.objects.all()},
        {"usernames": ["zed"]},
    ):
        assert outcome(UsernamesOut, value) == outcome(NinjaUsernamesOut, value)
