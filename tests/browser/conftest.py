"""Browser tests: Playwright (sync API) driving Debian's /usr/bin/chromium.

Never downloads a browser. Without /usr/bin/chromium the browser tests are skipped locally
and fail under CI (the ``CI`` environment variable), so CI cannot pass by skipping them.
"""

import os

# Playwright's sync API runs an event loop in this thread; Django's ORM refuses to run where
# an event loop is running unless told it is safe. Tests here touch the ORM only in set-up.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

from dataclasses import dataclass, field  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from tests.conftest import PROJECT_DIR, SAMPLES_DIR, SEED_PATH  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS_DIR = PROJECT_DIR / "test-artifacts"
PASSWORD = "pw-for-browser-tests-9"
TIMEOUT_MS = 10_000


@dataclass
class PageEvents:
    """What a page did besides rendering: JS dialogs opened, console errors, uncaught errors."""

    dialogs: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing (apt-get install chromium); browser tests need it"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
    finally:
        playwright.stop()


@pytest.fixture
def page_events() -> PageEvents:
    return PageEvents()


@pytest.fixture
def new_page(browser, live_server, page_events):
    """Open a page in a fresh browser context; every dialog is recorded and dismissed."""
    contexts = []

    def open_page(**context_options):
        context = browser.new_context(base_url=live_server.url, **context_options)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()

        def on_dialog(dialog):
            page_events.dialogs.append(f"{dialog.type}: {dialog.message}")
            dialog.dismiss()

        def on_console(message):
            # Chromium asks for /favicon.ico on its own; the app need not have one.
            if message.type == "error" and not message.location.get("url", "").endswith(
                "/favicon.ico"
            ):
                page_events.console_errors.append(message.text)

        page.on("dialog", on_dialog)
        page.on("console", on_console)
        page.on("pageerror", lambda error: page_events.page_errors.append(str(error)))
        return page

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page):
    return new_page()


@pytest.fixture
def artifacts() -> Path:
    """Where screenshots go (git-ignored, never committed)."""
    ARTIFACTS_DIR.mkdir(exist_ok=True)
    return ARTIFACTS_DIR


@pytest.fixture
def runbooks(transactional_db):
    """The sample runbooks plus the founding seed, imported through the real service."""
    from kb.services import runbooks_import
    from kb.sources import collect_sources

    sources, errors = collect_sources([SAMPLES_DIR, SEED_PATH.parent])
    return runbooks_import(sources=sources, errors=errors)


@pytest.fixture
def browser_user(transactional_db):
    """An engineer. Groups come from a data migration, but a transactional test's flush
    empties every table, so they are (re)created here when an earlier test wiped them."""
    from django.contrib.auth.models import Group, User

    user = User.objects.create_user(username="oncall", password=PASSWORD)
    user.groups.set([Group.objects.get_or_create(name="engineer")[0]])
    return user


@pytest.fixture
def login(browser_user):
    """Log in through the real login form; returns the page, now on the home page."""
    from playwright.sync_api import expect

    def log_in(page, next_path: str = ""):
        page.goto("/accounts/login/" + (f"?next={next_path}" if next_path else ""))
        page.locator("#id_username").fill(browser_user.username)
        page.locator("#id_password").fill(PASSWORD)
        page.locator("form button[type=submit]").click()
        expect(page.locator("form #id_password")).to_have_count(0)
        return page

    return log_in
