"""The hosted Link page is meant for people: a real headless Chromium clicks through it.

Plain form posts (LinkBrowser) prove the flow's logic; this proves the HTML works as a page: the
labels, radio buttons, checkboxes and buttons a person uses, with no JavaScript required.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from fakes.core.app import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, CoreConfig, build_core
from fakes.core.server import CoreServer

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")

if not (CHROMIUM and CHROMEDRIVER):
    pytest.skip(
        "headless Chromium not installed (apt-get install chromium chromium-driver, or run scripts/setup.sh as root)",
        allow_module_level=True,
    )

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


@pytest.fixture(scope="module")
def core_url() -> Iterator[str]:
    core = build_core(CoreConfig(client_id=DEFAULT_CLIENT_ID, client_secret=DEFAULT_CLIENT_SECRET, seed=7))
    with CoreServer(core) as server:
        yield server.url


@pytest.fixture(scope="module")
def browser() -> Iterator["webdriver.Chrome"]:
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    profile = tempfile.mkdtemp(prefix="harness-chromium-")
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--window-size=1000,900"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(15)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _auth_url(core_url: str, email: str) -> str:
    with httpx.Client(base_url=core_url, timeout=5) as client:
        token = client.post("/v1/token", json={"client_id": DEFAULT_CLIENT_ID, "client_secret": DEFAULT_CLIENT_SECRET})
        headers = {"Authorization": f"Bearer {token.json()['token']}"}
        user = client.post("/v1/end-users", json={"email": email, "name": "Browser Person"}, headers=headers)
        session = client.post("/v1/auth/session", headers=headers, json={
            "end_user_id": user.json()["end_user_id"],
            "redirect_uri": f"{core_url}/app/linked", "cancel_uri": f"{core_url}/app/cancelled"})
        session.raise_for_status()
        return session.json()["auth_url"]


def _submit(driver, action: str) -> None:
    """Press the form's button and wait until the next page has replaced this one."""
    page = driver.find_element(By.TAG_NAME, "main")
    driver.find_element(By.CSS_SELECTOR, f'form[data-action="{action}"] button[type="submit"]').click()
    WebDriverWait(driver, 10).until(expected_conditions.staleness_of(page))


def _step(driver) -> str:
    return driver.find_element(By.TAG_NAME, "main").get_attribute("data-step")


def test_a_person_links_the_sandbox_bank(core_url: str, browser, tmp_path: Path) -> None:
    browser.get(_auth_url(core_url, "person@example.com"))
    assert _step(browser) == "institution"
    browser.find_element(By.CSS_SELECTOR, 'input[name="institution_id"][value="88888"]').click()
    assert browser.save_screenshot(str(tmp_path / "link-1-institution.png")), "the page should render"
    _submit(browser, "institution")

    assert _step(browser) == "login"
    browser.find_element(By.ID, "username").send_keys("user_good")
    _submit(browser, "login")

    assert _step(browser) == "otp"
    browser.find_element(By.ID, "otp").send_keys("123456")
    _submit(browser, "otp")

    assert _step(browser) == "accounts"
    boxes = browser.find_elements(By.CSS_SELECTOR, 'input[name="account_ids"]')
    assert boxes and all(box.is_selected() for box in boxes), "every offered account should start selected"
    _submit(browser, "accounts")

    assert _step(browser) == "confirm"
    assert "transactions" in browser.find_element(By.CSS_SELECTOR, "ul.perms").text
    assert browser.save_screenshot(str(tmp_path / "link-2-confirm.png")), "the page should render"
    _submit(browser, "confirm")

    landed = urlsplit(browser.current_url)
    assert landed.path == "/app/linked", f"expected the redirect_uri, the browser is at {browser.current_url}"
    assert parse_qs(landed.query).get("consent_id"), "the success redirect should carry the consent id"


def test_a_person_cancels_and_lands_on_cancel_uri_with_the_error(core_url: str, browser) -> None:
    browser.get(_auth_url(core_url, "canceller@example.com"))
    _submit(browser, "cancel")
    landed = urlsplit(browser.current_url)
    assert landed.path == "/app/cancelled"
    query = parse_qs(landed.query)
    assert query["error_type"] == ["AUTH_SESSION_CANCELLED"]
    assert set(query) >= {"error", "error_id", "error_type", "error_description", "error_uri"}


def test_a_used_link_shows_a_readable_error_page(core_url: str, browser) -> None:
    auth_url = _auth_url(core_url, "twice@example.com")
    browser.get(auth_url)
    _submit(browser, "cancel")
    browser.get(auth_url)
    assert _step(browser) == "error"
    assert "can no longer be used" in browser.find_element(By.TAG_NAME, "h1").text


def test_the_card_keeps_a_side_margin_on_a_phone(core_url: str, browser, tmp_path: Path) -> None:
    """At a 390 px wide viewport the card must not touch the screen edges."""
    browser.set_window_size(390, 844)
    try:
        browser.get(_auth_url(core_url, "phone@example.com"))
        viewport = browser.execute_script("return document.documentElement.clientWidth")
        left, right = browser.execute_script(
            "const r = document.querySelector('main').getBoundingClientRect(); return [r.left, r.right];")
        assert browser.save_screenshot(str(tmp_path / "link-phone.png")), "the page should render"
    finally:
        browser.set_window_size(1000, 900)
    assert viewport <= 400, f"the window did not shrink to a phone width ({viewport} px)"
    assert left >= 12 and viewport - right >= 12, f"card spans {left}..{right} of {viewport} px"
