"""The error catalogue (kameng.errors): every member speaks both languages and has a status in the
api layer, and no code outside kameng.api knows HTTP statuses or the api's error module."""

import ast
import re
from pathlib import Path

import pytest
from django.utils import translation

import kameng
from kameng.api.errors import STATUS
from kameng.errors import DomainError, Error, ErrorKind, RateLimited

SRC = Path(kameng.__file__).parent
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.mark.parametrize("error", list(Error), ids=lambda e: e.name)
def test_every_error_has_both_messages_a_code_and_a_kind_the_api_answers(error):
    assert error.zh.strip() and error.en.strip()
    assert re.fullmatch(r"[a-z][a-z0-9_]*", error.code), error.code
    assert isinstance(error.kind, ErrorKind) and error.kind in STATUS
    assert error.placeholders("zh") == error.placeholders("en")
    assert not CJK.search(error.en), error.en


def test_every_kind_has_a_status():
    assert set(STATUS) == set(ErrorKind)
    assert all(400 <= status < 600 for status in STATUS.values())


def test_the_message_follows_the_language_and_fills_the_placeholders():
    exc = DomainError(Error.CASE_AMOUNT_EXCEEDS_REFUNDABLE, param="amount", max=500)
    assert (exc.code, exc.kind, exc.param, exc.params) == (
        "amount_exceeds_refundable",
        "invalid_request",
        "amount",
        {"max": 500},
    )
    assert exc.message("zh-hans") == "退款金额超过可退金额（最多 500 分）"
    assert exc.message("en") == "The refund exceeds what can be refunded (at most 500 fen)"
    with translation.override("en"):
        assert exc.message() == exc.message("en")
    with translation.override("zh-hans"):
        assert exc.message() == exc.message("zh-hans")


def test_a_missing_placeholder_is_a_bug_found_at_the_raise():
    with pytest.raises(TypeError):
        DomainError(Error.CASE_AMOUNT_EXCEEDS_REFUNDABLE, param="amount")


def test_rate_limits_say_when_to_retry_in_both_languages():
    exc = RateLimited(42)
    assert (exc.code, exc.kind, exc.retry_after) == ("rate_limited", ErrorKind.RATE_LIMITED, 42)
    assert exc.message("zh-hans") == "请求过于频繁，请稍后再试（42 秒后重试）"
    assert exc.message("en") == "Too many requests, please try again later (retry in 42 s)"
    assert RateLimited(0, Error.LOGIN_LOCKED).retry_after == 1


# ---- layering: HTTP only in kameng.api -----------------------------------------------------------------


def _modules(root: Path = SRC):
    for path in sorted(root.rglob("*.py")):
        if "migrations" not in path.parts:
            yield path, ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _imports(tree) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_no_module_outside_the_api_imports_its_error_module():
    offenders = [
        str(path.relative_to(SRC))
        for path, tree in _modules()
        if path.relative_to(SRC).parts[0] != "api" and "kameng.api.errors" in _imports(tree)
    ]
    assert not offenders, offenders


def test_no_raise_outside_the_api_names_an_http_status():
    offenders = []
    for path, tree in _modules():
        if path.relative_to(SRC).parts[0] == "api":
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Raise) and node.exc is not None:
                statuses = [
                    n.value
                    for n in ast.walk(node.exc)
                    if isinstance(n, ast.Constant) and type(n.value) is int and 400 <= n.value < 600
                ]
                if statuses:
                    offenders.append(f"{path.relative_to(SRC)}:{node.lineno} {statuses}")
    assert not offenders, offenders


def test_the_catalogue_imports_nothing_from_kameng_and_knows_no_status():
    tree = ast.parse((SRC / "errors.py").read_text(encoding="utf-8"))
    imported = _imports(tree)
    assert not [name for name in imported if name.startswith("kameng")], imported
    assert not [name for name in imported if name.startswith("django") and not name.startswith("django.utils")]
    numbers = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and type(n.value) is int]
    assert not [n for n in numbers if 100 <= n < 600], numbers
