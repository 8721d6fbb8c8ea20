"""Debian's Chromium, headless, driven by Selenium through Debian's chromium-driver (never a downloaded
browser), and axe-core (vendored, MPL-2.0: vendor/LICENSE) for the accessibility check."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

VENDOR = Path(__file__).with_name("vendor")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "console"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1280,900",
)


def chromium() -> webdriver.Chrome:
    binary, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if binary is None or driver is None:
        raise RuntimeError("Chromium is not installed: run `make system-packages` (chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_experimental_option("prefs", {"intl.accept_languages": "nb-NO,nb,en"})  # as staff here
    return webdriver.Chrome(service=Service(executable_path=driver), options=options)


def axe_violations(browser: webdriver.Chrome) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations of the page (WCAG 2.0/2.1 A and AA rules)."""
    browser.execute_script((VENDOR / "axe.min.js").read_text(encoding="utf-8"))
    result: dict[str, Any] = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})"
        ".then(r => done(r)).catch(e => done({violations: [{id: 'axe-error', impact: 'critical',"
        " description: String(e), nodes: []}]}));"
    )
    return [v for v in result["violations"] if v.get("impact") in ("serious", "critical")]


def screenshot(browser: webdriver.Chrome, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    browser.save_screenshot(str(path))
    return path
