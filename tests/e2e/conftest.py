"""Browser suite: Playwright drives Debian's chromium against a real `kameng serve` (gunicorn,
WhiteNoise, the timer worker) on an embedded SQLite database of its own.

Playwright's sync API keeps an asyncio loop in the test thread, and Django refuses ORM calls
from a thread with a running loop (SynchronousOnlyOperation). The suite-wide autouse ledger
fixture still touches the ORM after each test, so the guard is lifted for this process: the
test thread never shares a connection with anything asynchronous.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

# Every element's right edge, except inside boxes that scroll sideways on purpose (wide tables).
OVERFLOW_JS = """() => {
  const width = document.documentElement.clientWidth;
  const offenders = [];
  for (const el of document.querySelectorAll('body *')) {
    const rect = el.getBoundingClientRect();
    if (!rect.width || !rect.height || rect.right <= width + 1) continue;
    let scroller = el.parentElement, contained = false;
    while (scroller && scroller !== document.body) {
      const style = getComputedStyle(scroller);
      if (['auto', 'scroll', 'hidden'].includes(style.overflowX)) { contained = true; break; }
      scroller = scroller.parentElement;
    }
    if (!contained && !el.closest('.skip-link')) offenders.push(el.tagName + '.' + el.className + ' → ' + Math.round(rect.right));
  }
  return {scrollWidth: document.documentElement.scrollWidth, width, offenders: offenders.slice(0, 5)};
}"""

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("KAMENG_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARTIFACTS = Path(__file__).parent / "artifacts"
PASSWORD = "e2e-pass-word-123"
SERVER_READY_SECONDS = 180
CHILD_SETTINGS = Path(__file__).resolve().parents[1] / "child_settings"


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require_chromium() -> None:
    """Skip without a browser; under CI=true a missing browser fails instead of hiding the suite."""
    if Path(CHROMIUM).exists():
        return
    reason = f"{CHROMIUM} is missing: `make browser` installs Debian's chromium"
    if _in_ci():
        pytest.fail(f"CI=true but {reason}", pytrace=False)
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """A running kameng and the few API/CLI calls tests use to set the scene around the browser."""

    def __init__(self, url: str, env: dict, data_dir: Path):
        self.url, self.env, self.data_dir = url, env, data_dir
        self._n = 0
        self._staff: dict[tuple[str, str], str] = {}

    def kameng(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "kameng.cli", *args], env=self.env, capture_output=True, text=True, timeout=120
        )

    def staff(self, role: str, language: str = "zh") -> str:
        """The username of the session's one staff account with this role (arbitrator, admin) for stories
        in this language (switching to English is kept on the account), made with `kameng user create`
        the first time it is asked for: each CLI run pays Django's start-up."""
        key = (role, language)
        if key not in self._staff:
            username = self.unique(role[:3])
            made = self.kameng("user", "create", "--username", username, "--password", PASSWORD, "--role", role)
            assert made.returncode == 0, made.stderr
            self._staff[key] = username
        return self._staff[key]

    def api(self, method: str, path: str, body=None, token: str | None = None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.url + "/api/v1" + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")

    def unique(self, prefix: str) -> str:
        self._n += 1
        return f"{prefix}{self._n}_{int(time.time() * 1000) % 100000}"

    def register(self, role: str, username: str | None = None) -> dict:
        username = username or self.unique(role)
        status, body = self.api("POST", "/auth/register", {"username": username, "password": PASSWORD, "role": role})
        assert status == 201, body
        return {"username": username, "token": body["token"], "id": body["user"]["id"]}

    def fund(self, user: dict, fen: int) -> None:
        status, topup = self.api("POST", "/wallet/topups", {"amount": fen}, token=user["token"])
        assert status == 201, topup
        request = urllib.request.Request(
            self.url + topup["pay_url"],
            data=b"",
            method="POST",
            headers={"Accept": "application/json", "Authorization": f"Bearer {user['token']}"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 200

    def merchant_with_card_listing(self, *, title: str, price: int, keys: list[str], **extra) -> tuple[dict, dict]:
        merchant = self.register("merchant")
        status, shop = self.api(
            "POST", "/shops", {"name": f"{merchant['username']} 数码", "description": "正版"}, token=merchant["token"]
        )
        assert status == 201, shop
        body = {
            "title": title,
            "category": "software_license",
            "kind": "card_key",
            "price": price,
            "description": "正版授权，在线激活。",
            "promises": ["100%稳定激活", "24小时内激活"],
            "after_sale_days": 7,
            "verification_minutes": 1440,
            **extra,
        }
        status, listing = self.api("POST", "/listings", body, token=merchant["token"])
        assert status == 201, listing
        status, added = self.api("POST", f"/listings/{listing['id']}/stock", {"items": keys}, token=merchant["token"])
        assert status == 200 and added["added"] == len(keys), added
        return merchant, listing


@pytest.fixture(scope="session")
def server(tmp_path_factory, request):
    require_chromium()
    data_dir = tmp_path_factory.mktemp("kameng-e2e")
    env = {k: v for k, v in os.environ.items() if k not in ("KAMENG_DATABASE_URL", "KAMENG_BROKER_URL")}
    env.update(
        {
            "KAMENG_DATA_DIR": str(data_dir),
            "KAMENG_TEST_CLOCK": "1",
            # kameng's settings with a fast password hasher (tests/child_settings/kameng_test_settings.py).
            "DJANGO_SETTINGS_MODULE": "kameng_test_settings",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(CHILD_SETTINGS), os.environ.get("PYTHONPATH")])),
            # Every browser story registers its own users from 127.0.0.1 against this one server.
            "KAMENG_RATE_LIMIT_REGISTER_IP": "1000/3600",
            "KAMENG_RATE_LIMIT_REGISTER_CHALLENGE_IP": "1000/3600",
            # Notification channels and webhooks may call the stories' local receivers on 127.0.0.1.
            "KAMENG_WEBHOOK_ALLOW_PRIVATE": "1",
        }
    )
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    port = _free_port()
    server = Server(f"http://127.0.0.1:{port}", env, data_dir)
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        # A copy of the run's migrated SQLite template (tests/conftest.py, _isolated_template: one
        # `kameng init` for every xdist worker and every subprocess test), not an init of its own.
        template = request.getfixturevalue("_isolated_template")
        shutil.copyfile(Path(template.env["KAMENG_DATA_DIR"]) / "kameng.sqlite3", data_dir / "kameng.sqlite3")
    else:  # the suite's database is PostgreSQL: this server's SQLite database is migrated here
        init = server.kameng("init")
        assert init.returncode == 0, init.stderr
    log = open(data_dir / "serve.log", "w")  # noqa: SIM115  (open while the server runs)
    process = subprocess.Popen(
        [sys.executable, "-m", "kameng.cli", "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    # Generous: at a load average of ~10, gunicorn and Django's set-up took longer than a minute.
    started = time.monotonic()
    while True:
        try:
            with urllib.request.urlopen(server.url + "/", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        exited = process.poll()
        if exited is not None or time.monotonic() - started > SERVER_READY_SECONDS:
            process.kill()
            why = f"exited with {exited}" if exited is not None else f"not ready after {SERVER_READY_SECONDS} s"
            pytest.fail(f"kameng serve {why}; its output:\n{(data_dir / 'serve.log').read_text()[-4000:]}")
        time.sleep(0.2)
    yield server
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()
    # Whatever the browser did, the books still balance.
    check = server.kameng("ledger", "check")
    assert check.returncode == 0, check.stdout + check.stderr


@pytest.fixture(scope="session")
def browser():
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Shots:
    """Numbered screenshots of each step under tests/e2e/artifacts/<test>/."""

    def __init__(self, name: str):
        self.dir = ARTIFACTS / name
        self.dir.mkdir(parents=True, exist_ok=True)
        for old in self.dir.glob("*.png"):
            old.unlink()
        self.n = 0

    def __call__(self, page, step: str) -> None:
        self.n += 1
        page.screenshot(path=str(self.dir / f"{self.n:02d}-{step}.png"), full_page=True)

    def fits(self, page, step: str) -> None:
        """Screenshot this step, then insist the page fits its width: no horizontal scroll, nothing sticking out.
        A step that followed a link measures the new page once it has loaded, not the document being replaced."""
        page.wait_for_load_state()
        result = page.evaluate(OVERFLOW_JS)
        self(page, step)
        assert result["scrollWidth"] <= result["width"], (step, result)
        assert not result["offenders"], (step, result)


def log_in(page, username: str, english: bool = False) -> None:
    """Sign in on the login page (Chinese, the default), then switch to English if asked."""
    page.goto("/login/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    if english:
        page.get_by_role("button", name="English").click()


@pytest.fixture
def shots(request):
    return Shots(request.node.name.replace("[", "-").replace("]", ""))


@pytest.fixture
def new_page(browser, server):
    """Open a page in a fresh browser context; console errors (CSP violations included) are collected."""
    contexts = []

    def make(*, width: int = 1280, height: int = 900, locale: str = "zh-CN"):
        context = browser.new_context(viewport={"width": width, "height": height}, locale=locale, base_url=server.url)
        context.set_default_timeout(15000)
        contexts.append(context)
        page = context.new_page()
        page.console_errors = []
        page.on("console", lambda msg: page.console_errors.append(msg.text) if msg.type == "error" else None)
        page.on("pageerror", lambda exc: page.console_errors.append(str(exc)))
        return page

    yield make
    for context in contexts:
        context.close()
