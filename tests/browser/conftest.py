"""Headless Chromium for the browser tests (Debian's ``chromium`` and ``chromium-driver``),
driven by Selenium, against a real uvicorn server on 127.0.0.1 and a free port.

Outside CI, a machine without them skips these tests and says how to install them; with
``CI=true`` they are required (``.ci/run`` installs them first)."""

import os
import shutil

import pytest

from tests.servers import served_in_thread

INSTALL = "apt-get update && apt-get install -y chromium chromium-driver"
CHROMIUM_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                  "--no-first-run", "--disable-background-networking", "--disable-sync",
                  "--disable-component-update", "--disable-default-apps", "--hide-scrollbars",
                  "--force-device-scale-factor=1", "--window-size=1000,1400")


def _binaries() -> tuple[str | None, str | None]:
    return (shutil.which("chromium") or shutil.which("chromium-browser"),
            shutil.which("chromedriver"))


@pytest.fixture(scope="session")
def browser():
    chromium, driver_path = _binaries()
    if chromium is None or driver_path is None:
        missing = [name for name, path in (("chromium", chromium),
                                           ("chromium-driver", driver_path)) if path is None]
        reason = (f"headless Chromium is not installed (missing: {', '.join(missing)}); "
                  f"install it with `{INSTALL}` to run the browser tests")
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true requires the browser tests: {reason}", pytrace=False)
        pytest.skip(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(driver_path))
    driver.execute_cdp_cmd("Network.enable", {})
    yield driver
    driver.quit()


@pytest.fixture
def page(browser):
    """The browser, reset for this test: no extra headers, light theme, screen media, the
    usual viewport, and an empty console log."""
    browser.execute_cdp_cmd("Network.setExtraHTTPHeaders", {"headers": {}})
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "", "features": [
        {"name": "prefers-color-scheme", "value": "light"}]})
    browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    browser.get("about:blank")
    browser.get_log("browser")  # reading the log empties it
    yield browser


@pytest.fixture
def live_server(app):
    """The app served by uvicorn on 127.0.0.1 at a free port (its own threads and sessions)."""
    with served_in_thread(app) as url:
        yield url
