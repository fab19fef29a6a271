"""Fuzzing with schemathesis against the served OpenAPI document (/api/v1/openapi.json).

Every operation is called with generated input by an anonymous caller and by a buyer, a
merchant, an arbitrator and an admin (path parameters are real ids half of the time, so the
calls reach the handlers and not only the 404s). Bounded: FUZZ_EXAMPLES examples per operation
and caller, and FUZZ_SECONDS in all (KAMENG_FUZZ_EXAMPLES / KAMENG_FUZZ_SECONDS to change). The
draws are the same on every run unless KAMENG_FUZZ_SEED names a seed: .ci/run gives each of its two
passes half the time budget and a seed of its own, so together they try as many inputs as one full
budget, and not the same ones twice.

Checked on every answer: never a 5xx; every error in the contract's shape with the type its
status calls for. Afterwards the ledger check is green.
"""

import json
import os
import re
import time
from contextlib import contextmanager

import pytest
import schemathesis
from django.core.wsgi import get_wsgi_application
from django.db import transaction
from django.test import override_settings
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

FUZZ_EXAMPLES = int(os.environ.get("KAMENG_FUZZ_EXAMPLES", "12"))
FUZZ_SECONDS = float(os.environ.get("KAMENG_FUZZ_SECONDS", "40"))
FUZZ_SEED = os.environ.get("KAMENG_FUZZ_SEED")
CALLERS = ("anon", "buyer", "merchant", "arbitrator", "admin")
ERROR_TYPES = {
    400: {"invalid_request"},
    401: {"authentication_required"},
    402: {"insufficient_funds"},
    403: {"permission_denied"},
    404: {"not_found"},
    405: {"invalid_request"},
    409: {"conflict", "idempotency_error"},
    413: {"too_large"},
    415: {"unsupported_media_type"},
    429: {"rate_limited"},
}


def known_ids(world) -> dict[str, list[str]]:
    return {
        "shop_id": [world["merchant"].shop_id, world["merchant2"].shop_id],
        "listing_id": [world["listing"]["id"], world["service"]["id"]],
        "topup_id": [world["topup"]["id"]],
        "withdrawal_id": [world["withdrawal"]["id"]],
        "out_trade_no": [world["topup"]["out_trade_no"]],
        "gateway": ["sandbox"],
        "order_id": [world["o1"]["id"], world["o2"]["id"], world["o3"]["id"]],
        "case_id": [world["case"]["id"]],
        "evidence_id": [world["text_evidence"]["id"], world["png_evidence"]["id"]],
    }


def problems_in(case, response) -> list[str]:
    where = f"{case.method} {case.formatted_path}"
    status = response.status_code
    if status >= 500:
        sent = {"query": case.query, "body": case.body if not isinstance(case.body, bytes) else case.body[:100]}
        return [f"{where}: {status} sending {repr(sent)[:300]}"]
    if status < 400:
        return []
    try:
        error = json.loads(response.content)["error"]
    except (ValueError, KeyError, TypeError):
        return [f"{where}: {status} not in the error shape: {response.content[:300]!r}"]
    found = []
    if set(error) != {"type", "code", "message", "param", "request_id"}:
        found.append(f"{where}: {status} error keys {sorted(error)}")
    if error.get("type") not in ERROR_TYPES.get(status, {error.get("type")}):
        found.append(f"{where}: {status} with type {error.get('type')!r}")
    if not isinstance(error.get("message"), str) or not error.get("message"):
        found.append(f"{where}: {status} without a message")
    return found


@contextmanager
def keep_connection():
    """Like Django's test client: the request signals must not close the test's database connection
    (the WSGI application runs in this process, inside the test's transaction)."""
    from django.core import signals
    from django.db import close_old_connections

    for signal in (signals.request_started, signals.request_finished):
        signal.disconnect(close_old_connections)
    try:
        yield
    finally:
        for signal in (signals.request_started, signals.request_finished):
            signal.connect(close_old_connections)


@pytest.fixture
def served_schema(world):
    """The document as the server serves it, and the WSGI application that serves it."""
    app = get_wsgi_application()
    with keep_connection():
        return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app), app


def test_fuzzing_every_operation_as_every_caller_finds_no_5xx_and_only_shaped_errors(served_schema, world):
    from kameng.ledger.services import check

    schema, app = served_schema
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 50
    ids = known_ids(world)
    found: list[str] = []
    calls = {"made": 0}
    runs = [(caller, operation) for caller in CALLERS for operation in operations]
    deadline = time.monotonic() + FUZZ_SECONDS

    with override_settings(RATE_LIMITS_ENABLED=False), keep_connection():
        for done, (caller, operation) in enumerate(runs):
            headers = {"Authorization": f"Bearer {world[caller].token}"} if caller != "anon" else {}
            # Each run gets an equal share of what is left of the budget; past it, one example each.
            left = deadline - time.monotonic()
            stop_at = time.monotonic() + max(0.0, left) / (len(runs) - done)
            examples = FUZZ_EXAMPLES if left > 0 else 1
            names = [p.name for p in operation.path_parameters] if operation.path_parameters else []
            _fuzz_one(operation, app, headers, caller, names, ids, examples, stop_at, found, calls)
    assert calls["made"] >= len(runs), calls
    assert not found, "\n".join(list(dict.fromkeys(found))[:40])
    result = check()
    assert result.ok, result.problems


def _fuzz_one(operation, app, headers, caller, names, ids, examples, stop_at, found, calls):
    """Up to `examples` generated calls of one operation as one caller; the first always, later ones
    only while this run's share of the time budget lasts (the draws stay the same either way, as
    Hypothesis requires)."""
    made = []

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=FUZZ_SEED is None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def fuzz(data):
        case = data.draw(operation.as_strategy())
        for name in names:
            if name in ids and data.draw(st.booleans()):
                case.path_parameters[name] = data.draw(st.sampled_from(ids[name]))
        if made and time.monotonic() > stop_at:
            return
        made.append(1)
        try:
            # A savepoint per call: one failing request must not spoil the test's transaction for
            # the calls after it (PostgreSQL refuses everything once a statement failed).
            with transaction.atomic():
                response = case.call(app=app, headers=headers)
        except Exception as exc:  # recorded, not raised: a raise would make Hypothesis replay
            found.append(f"as {caller}: {case.method} {case.formatted_path}: {exc!r}"[:500])
            return
        calls["made"] += 1
        found.extend(f"as {caller}: {p}" for p in problems_in(case, response))

    if FUZZ_SEED is not None:
        fuzz = seed(int(FUZZ_SEED))(fuzz)
    fuzz()


EXTREMES = [2**63, 2**64 + 5, -(2**63) - 1, 10**30, 0, -1]
HOSTILE_STRINGS = [
    "\x00",
    "a\x00b",
    "\ud800",
    "x\udfffy",
    "x" * 100_000,
    "\ud7ff\ue000\U0010ffff",
    "' OR 1=1 --",
    "%00",
]


def _resolve(spec, schema):
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _bodies(spec, op) -> list[dict]:
    """One plausible body, then the same with every integer at each extreme and every string hostile."""
    content = op.get("requestBody", {}).get("content", {})
    if "application/json" not in content:
        return []
    schema = _resolve(spec, content["application/json"]["schema"])
    props = {k: _resolve(spec, v) for k, v in schema.get("properties", {}).items()}

    def kind(p):
        types = [p.get("type")] + [a.get("type") for a in p.get("anyOf", [])]
        return next((t for t in types if t and t != "null"), "string")

    plain = {k: {"integer": 1, "boolean": True, "array": [], "object": {}}.get(kind(p), "x") for k, p in props.items()}
    bodies = []
    ints = [k for k, p in props.items() if kind(p) == "integer"]
    strings = [k for k, p in props.items() if kind(p) == "string"]
    for value in EXTREMES:
        if ints:
            bodies.append({**plain, **dict.fromkeys(ints, value)})
    for value in HOSTILE_STRINGS:
        if strings:
            bodies.append({**plain, **dict.fromkeys(strings, value)})
    return bodies


def test_extreme_numbers_and_hostile_strings_never_cause_a_5xx(api, world):
    """Boundaries random generation rarely hits: integers past 64 bits, NUL characters (PostgreSQL
    text cannot hold them), 100 000-character strings; in every JSON body, query and path."""
    spec = api.get("/openapi.json").data
    found, calls = [], 0
    with override_settings(RATE_LIMITS_ENABLED=False):
        for path, ops in spec["paths"].items():
            for method, op in ops.items():
                params = {name: values[0] for name, values in known_ids(world).items()}
                # A path parameter the world has no object for (a withdrawal, an out_trade_no) gets "1".
                params |= {name: "1" for name in re.findall(r"\{(\w+)\}", path) if name not in params}
                url = path.format(**params)
                for caller in ("buyer", "merchant", "arbitrator", "admin"):
                    headers = {"Authorization": f"Bearer {world[caller].token}"}
                    requests = [(url, body) for body in _bodies(spec, op)]
                    if method == "get":
                        query = [p["name"] for p in op.get("parameters", []) if p["in"] == "query"]
                        requests += [(f"{url}?{q}={v}", None) for q in query for v in ("%00", "9" * 30, "-1")]
                    requests += (
                        [(url.replace(f"/{params[n]}", "/%00", 1), None) for n in params if "{" + n + "}" in path]
                        if method == "get"
                        else []
                    )
                    for target, body in requests:
                        kwargs = {"headers": headers}
                        if body is not None:
                            kwargs.update(data=json.dumps(body), content_type="application/json")
                        response = getattr(api.client, method)(target, **kwargs)
                        calls += 1
                        if response.status_code >= 500:
                            found.append(
                                f"{method.upper()} {target[:120]} as {caller} "
                                f"{json.dumps(body)[:160] if body else ''}: {response.status_code}"
                            )
    assert calls > 300
    assert not found, "\n".join(found[:60])
