"""The console in a real browser (Debian's Chromium, headless): a member of staff signs in, sees the fleet,
changes the idle timeout of a running kiosk (a real station with a patron at it: it takes the setting only
once the patron has finished, and the fleet shows the version it then runs), resolves a conflict, signs
out; every page passes axe-core with 0 serious or critical violations. Screenshots go to
test-artifacts/console/."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from kiosk.core import Action
from kiosk.station import Station
from tests.console.browser import axe_violations, chromium, screenshot
from tests.console.conftest import HARSTAD, PASSWORD, TROMSO, ConsoleSite, unique
from tests.console.stations import (
    beaten_twice,
    eventually,
    fetched_twice,
    running,
    sign_in_patron,
    station_file,
)


@pytest.fixture(scope="module")
def browser() -> Iterator[WebDriver]:
    driver = chromium()
    driver.set_page_load_timeout(20)
    driver.set_script_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


def follow(browser: WebDriver, element: WebElement) -> None:
    """Click a link or button and wait until the next page has replaced this one."""
    page = browser.find_element(By.TAG_NAME, "html")
    element.click()
    WebDriverWait(browser, 10).until(lambda _: _replaced(page))


def _replaced(page: WebElement) -> bool:
    """Whether `page` has left the document. Chromium sometimes answers a question about an element of the
    page being replaced with "Node with given id does not belong to the document" instead of the stale
    element error (seen on a busy machine): that, too, means the page has gone."""
    try:
        page.is_enabled()
    except WebDriverException:  # StaleElementReferenceException is one
        return True
    return False


def accessible(browser: WebDriver, name: str) -> None:
    screenshot(browser, name)
    found = axe_violations(browser)
    summary = [f"{v['id']}: {v['description']} ({len(v['nodes'])} nodes)" for v in found]
    assert not found, f"{name}: " + "; ".join(summary)


def sign_in(browser: WebDriver, site: ConsoleSite, username: str) -> None:
    browser.delete_all_cookies()
    browser.get(f"{site.url}/console/login")
    browser.find_element(By.ID, "username").send_keys(username)
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    follow(browser, browser.find_element(By.ID, "sign-in"))
    WebDriverWait(browser, 10).until(lambda b: b.current_url.endswith("/console/"))


def sign_in_by_keyboard(browser: WebDriver, site: ConsoleSite, username: str) -> None:
    """Tab to the user name from the top of the page, type, Tab, type, Enter: no mouse."""
    browser.delete_all_cookies()
    browser.get(f"{site.url}/console/login")
    for _ in range(10):
        ActionChains(browser).send_keys(Keys.TAB).perform()
        if browser.switch_to.active_element.get_attribute("id") == "username":
            break
    assert browser.switch_to.active_element.get_attribute("id") == "username"
    ActionChains(browser).send_keys(username, Keys.TAB, PASSWORD, Keys.ENTER).perform()
    WebDriverWait(browser, 10).until(lambda b: b.current_url.endswith("/console/"))


async def test_staff_sign_in_see_the_fleet_change_the_idle_timeout_resolve_a_conflict_and_sign_out(
    browser: WebDriver, console_site: ConsoleSite, tmp_path: Path
) -> None:
    name = unique("Tromsø")
    async with running(station_file(console_site, tmp_path, name)) as station:  # a running kiosk
        assert station.console is not None and station.gateway is not None
        await sign_in_patron(station)  # with a patron at it
        await _change_the_idle_timeout(browser, console_site, station, name)
        station.press(Action.FINISH)  # the session ends: only now does the kiosk take it
        await eventually(lambda: station.session.policy.idle_timeout == timedelta(seconds=120))
        await beaten_twice(station)  # its heartbeat names the version
        version = station.console.version
    browser.get(f"{console_site.url}/console/")
    assert version in browser.find_element(By.ID, "fleet").text
    with console_site.kiosk(name) as kiosk:  # the kiosk could not settle a return offline
        task = {"key": unique("conflict"), "kind": "conflict", "item_id": "03011234567890",
                "summary": "Returned offline, but the loan was renewed meanwhile",
                "ils_message": "Item not checked out"}  # fmt: skip
        kiosk.post("/v1/console/tasks", json=[task]).raise_for_status()
    _resolve_the_conflict_and_sign_out(browser, console_site, name, task["key"])


async def _change_the_idle_timeout(
    browser: WebDriver, console_site: ConsoleSite, station: Station, name: str
) -> None:
    browser.get(f"{console_site.url}/console/login")
    accessible(browser, "01-login")
    sign_in(browser, console_site, "tove")
    fleet = browser.find_element(By.ID, "fleet").text
    assert "Tromsø 1" in fleet and name in fleet and "Harstad 1" not in fleet
    accessible(browser, "02-fleet")

    follow(browser, browser.find_element(By.LINK_TEXT, name))
    accessible(browser, "03-kiosk")
    follow(browser, browser.find_element(By.LINK_TEXT, "Innstillinger for denne automaten"))
    field = browser.find_element(By.ID, "f-session.idle_timeout")
    field.clear()
    field.send_keys("5000")  # out of range: refused with the range in words
    follow(browser, browser.find_element(By.ID, "save"))
    assert "fra 10 til 1800 sekunder" in browser.find_element(By.CSS_SELECTOR, "[role=alert]").text
    accessible(browser, "04-config-refused")
    field = browser.find_element(By.ID, "f-session.idle_timeout")
    field.clear()
    field.send_keys("120")
    follow(browser, browser.find_element(By.ID, "save"))
    assert "Lagret" in browser.find_element(By.CSS_SELECTOR, "[role=status]").text
    accessible(browser, "05-config-saved")
    await fetched_twice(station)  # the kiosk has it, but a patron is using it
    assert station.session_active and station.session.policy.idle_timeout == timedelta(seconds=60)


def _resolve_the_conflict_and_sign_out(
    browser: WebDriver, console_site: ConsoleSite, name: str, key: str
) -> None:
    follow(browser, browser.find_element(By.LINK_TEXT, "Oppgaver"))
    assert "Item not checked out" in browser.find_element(By.ID, "tasks").text
    accessible(browser, "06-tasks")
    row = browser.find_element(By.XPATH, "//tr[td[contains(., '03011234567890')]]")
    row.find_element(By.CSS_SELECTOR, "input[name=note]").send_keys("Renewal kept, return cancelled")
    follow(browser, row.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    assert "Merket som behandlet" in browser.find_element(By.CSS_SELECTOR, "[role=status]").text
    assert "03011234567890" not in browser.find_element(By.ID, "tasks").text
    with console_site.kiosk(name) as kiosk:  # the kiosk's staff screen shows it handled
        mine = [t for t in kiosk.get("/v1/console/tasks").json() if t["key"] == key]
    assert mine[0]["handled_by"] == "tove"
    browser.get(f"{console_site.url}/console/tasks?handled=1")
    accessible(browser, "07-tasks-handled")

    follow(browser, browser.find_element(By.ID, "logout"))
    WebDriverWait(browser, 10).until(lambda b: b.current_url.endswith("/console/login"))
    browser.get(f"{console_site.url}/console/")
    assert browser.current_url.split("?")[0].endswith("/console/login")


def test_every_other_page_passes_axe_in_both_languages(browser: WebDriver, console_site: ConsoleSite) -> None:
    sign_in_by_keyboard(browser, console_site, "ada")
    browser.set_window_size(768, 1024)  # a tablet standing up
    browser.get(f"{console_site.url}/console/")
    accessible(browser, "09-fleet-tablet")
    width = browser.execute_script("return document.documentElement.scrollWidth")
    assert width <= 768, "the page scrolls sideways on a tablet (tables scroll in their own box)"
    browser.set_window_size(1280, 900)
    kiosk = console_site.ids["Tromsø 1"]
    pages = {
        "kiosk-technician": f"/console/kiosks/{kiosk}",
        "library-config": f"/console/libraries/{TROMSO}/config",
        "statistics": "/console/statistics",
        "statistics-library": f"/console/statistics?library={HARSTAD}&days=7",
        "accounts": "/console/accounts",
        "audit": "/console/audit",
        "not-found": "/console/kiosks/no-such-kiosk",
    }
    for language in ("nb", "en", "sv"):  # (fi is laid out as sv: same pages, longer words checked once)
        browser.get(f"{console_site.url}/console/language/{language}")
        for name, path in pages.items():
            browser.get(f"{console_site.url}{path}")
            assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == language
            accessible(browser, f"10-{name}-{language}")


def test_the_accessibility_check_finds_what_it_should(browser: WebDriver) -> None:
    browser.get("data:text/html,<html><body><img src='x.png'><p style='color:%23ddd'>faint</p></body></html>")
    found = {v["id"] for v in axe_violations(browser)}
    assert {"image-alt", "html-has-lang"} <= found
