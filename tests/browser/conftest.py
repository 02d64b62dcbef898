"""Browser tests: Playwright's Python package driving Debian's Chromium against pytest-django's live server.

Screenshots land in test-artifacts/screenshots/ (kept by CI as artefacts; look at them). Accessibility is
checked with axe-core (npm, pinned in tests/browser/vendor/package-lock.json; `make test` installs it),
injected into the page under test: the `axe` fixture returns its violations.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.access_fixtures import PASSWORD

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
AXE_JS = Path(__file__).resolve().parent / "vendor" / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.1 A and AA (what RGAA 4.1 maps to), plus axe's best practices (landmarks, heading order...).
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


# Playwright's sync API runs an event loop in the test thread; Django's ORM calls made from the test
# body (fixtures, assertions) are still synchronous and safe there.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser():
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"Chromium not found at {CHROMIUM}: `apt-get install chromium`")
        pytest.skip(f"Chromium not found at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, tmp_path):
    context = browser.new_context(locale="fr-FR", viewport={"width": 420, "height": 900}, accept_downloads=True)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def screenshot():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def desk(browser):
    """A desktop-sized page: the dashboards are read at a desk (the status page is tested on a phone size)."""
    context = browser.new_context(locale="fr-FR", viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def log_in(live_server):
    """The admin login as a person does it: password first, then (the device list now filled) the device and
    the current TOTP token, computed here from the device's secret as the authenticator app would."""

    def go(page, user, next_path: str) -> None:
        device = TOTPDevice.objects.get_or_create(user=user, name="téléphone", defaults={"confirmed": True})[0]
        page.goto(f"{live_server.url}/admin/login/?next={next_path}")
        page.fill("#id_username", user.username)
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]:not([name=otp_challenge])")
        page.select_option("#id_otp_device", device.persistent_id)
        page.fill("#id_password", PASSWORD)
        device.refresh_from_db()
        totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
        if totp.t() <= device.last_t:  # a second log-in within 30 s: this token is spent (no replay)
            totp.time = time.time() + device.step  # the next one, within the device's tolerance
        token = totp.token()
        page.fill("#id_otp_token", f"{token:0{device.digits}d}")
        page.click("input[type=submit]:not([name=otp_challenge])")
        page.wait_for_url(f"{live_server.url}{next_path}")

    return go


@pytest.fixture(scope="session")
def axe():
    """`axe(page)` → axe-core's violations on the page as shown, each "id (impact): nodes" for the message.

    A missing axe-core fails the test (never a silent skip): `npm ci --prefix tests/browser/vendor`."""
    if not AXE_JS.exists():
        pytest.fail(f"axe-core missing at {AXE_JS}: run `npm ci --prefix tests/browser/vendor` (make test does)")

    source = AXE_JS.read_text(encoding="utf-8")

    def run(page, *, impacts: tuple[str, ...] | None = None) -> list[str]:
        # Evaluated through the DevTools protocol, not a <script> tag: the pages' Content-Security-Policy
        # (script-src 'self') stays on while axe runs.
        page.evaluate(source)
        result = page.evaluate("(tags) => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS)
        return [
            f"{violation['id']} ({violation['impact']}): "
            + "; ".join(" ".join(node["target"]) for node in violation["nodes"][:5])
            for violation in result["violations"]
            if impacts is None or violation["impact"] in impacts
        ]

    return run
