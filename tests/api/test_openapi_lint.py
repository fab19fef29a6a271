"""Linters nobody here wrote, run against the document as served: redocly (recommended ruleset) and
spectral (`spectral:oas`) must find 0 errors. `make openapi-lint-tools` installs them (npm, pinned by
tools/openapi-lint/package-lock.json); where npm is missing they skip, except under CI."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from django.test import Client

TOOLS = Path(__file__).resolve().parents[2] / "tools" / "openapi-lint"
BIN = TOOLS / "node_modules" / ".bin"


def _tool(name: str) -> Path:
    path = BIN / name
    if not path.exists():
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"{name} is not installed: run `make openapi-lint-tools` (npm)")
        reason = "npm is missing" if shutil.which("npm") is None else "run `make openapi-lint-tools`"
        pytest.skip(f"{name} not installed ({reason})")
    return path


@pytest.fixture
def served_document(db, tmp_path) -> Path:
    res = Client().get("/api/v1/openapi.json")
    assert res.status_code == 200
    path = tmp_path / "openapi.json"
    path.write_text(json.dumps(res.json()))
    return path


def _run(args: list[str]) -> subprocess.CompletedProcess:
    env = {**os.environ, "REDOCLY_TELEMETRY": "off", "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true", "NO_COLOR": "1"}
    return subprocess.run(args, capture_output=True, text=True, timeout=120, cwd=TOOLS, env=env)


def test_redocly_recommended_finds_no_errors(served_document):
    done = _run([str(_tool("redocly")), "lint", "--extends=recommended", "--format=json", str(served_document)])
    report = json.loads(done.stdout[done.stdout.index("{") :])
    errors = [p for p in report["problems"] if p["severity"] == "error"]
    assert not errors, json.dumps(errors, indent=1)[:4000]
    assert report["totals"]["errors"] == 0


def test_spectral_oas_finds_no_errors(served_document):
    done = _run(
        [str(_tool("spectral")), "lint", "--ruleset", str(TOOLS / ".spectral.yaml"), "--format", "json",
         "--fail-severity", "error", str(served_document)]
    )  # fmt: skip
    # The JSON report, then (on success) a line "No results with a severity of 'error' found!".
    problems, _end = json.JSONDecoder().raw_decode(done.stdout[done.stdout.index("[") :])
    errors = [p for p in problems if p["severity"] == 0]
    assert not errors, json.dumps(errors, indent=1)[:4000]
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
