"""The browser-test harness: the site in a thread, Debian's chromium, accounts, axe.

Fixtures built on these helpers are in ``conftest.py`` next to this file; a test
module only declares ``pytestmark = BROWSER_TEST`` and asks for ``site``,
``page`` or ``new_context``.

- :class:`SiteServer` / :func:`running_site`: the site as ``coachmatch run`` serves
  it (uvicorn, embedded workers, SQLite in its own data folder), on a free
  loopback port, on its own event loop in a thread. :meth:`SiteServer.call` runs
  a coroutine on that loop (the one that owns the database), which is how
  :meth:`SiteServer.create_coach` and :meth:`SiteServer.create_admin` make
  accounts with the real services.
- :class:`Account`: what a test needs to log in, with :meth:`Account.fresh_code`
  for TOTP codes the site has not seen yet (a code is accepted once).
- :func:`wait_for_mail`: the first message to an address in the site's dev mailbox.
- :func:`assert_accessible`: axe-core (WCAG 2.1 A and AA rules) on the current
  page; fails on any "serious" or "critical" violation, and saves a full-page
  screenshot to ``test-output/screenshots/`` (git-ignored).

Playwright's sync API, as in the tests. Its sync API marks an event loop as
running in the main thread while it is started, so a browser test module holds
sync tests only (the ``browser`` fixture is module-scoped for that reason).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import re
import socket
import threading
import time
from collections.abc import Coroutine, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar
from uuid import UUID

import pytest

from matching import credentials
from tests.conftest import make_settings

if TYPE_CHECKING:
    from playwright.sync_api import (
        Browser,
        BrowserContext,
        ConsoleMessage,
        Page,
        Playwright,
        Response,
    )

    from matching.config import Settings
    from matching.mailbox import MailboxMessage
    from matching.runtime import Runtime

T = TypeVar("T")

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
VIEWPORT = {"width": 1200, "height": 900}
PASSWORD = "a browser password"  # passes the policy (12 characters or more)
START_TIMEOUT_SECONDS = 30.0

requires_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason=f"needs Debian's chromium at {CHROMIUM} (apt-get install chromium)",
)
#: ``pytestmark = BROWSER_TEST`` in every browser test module.
BROWSER_TEST = [pytest.mark.browser, pytest.mark.slow, requires_chromium]

#: axe-core tags of the WCAG 2.0 and 2.1 success criteria at levels A and AA.
WCAG_21_AA = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")
#: Violations of these impacts fail :func:`assert_accessible`.
BLOCKING_IMPACTS = ("serious", "critical")
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


# -- accounts --------------------------------------------------------------------------


@dataclasses.dataclass
class Account:
    """A coach or admin account made by :class:`SiteServer`, as a person would use it."""

    kind: str
    id: UUID
    email: str
    name: str
    password: str = dataclasses.field(repr=False)
    totp_secret: str = dataclasses.field(repr=False)
    totp_required: bool
    _last_step: int = dataclasses.field(default=-1, repr=False)

    def code(self, offset: int = 0) -> str:
        """The TOTP code of the current time step (``offset`` steps later or earlier)."""
        return credentials.code_for_step(self.totp_secret, credentials.current_step() + offset)

    def fresh_code(self) -> str:
        """A code valid now whose time step is later than any this method gave before.

        The site accepts a step once per account, so use this for every code a test
        submits (login, switching on two-step verification). It takes the next step
        when the current one was used (the site allows one step of clock drift) and
        waits for the clock, at most one step, when that one was used too.
        """
        while True:
            now = credentials.current_step()
            step = max(now, self._last_step + 1)
            if step <= now + credentials.TOTP_VALID_WINDOW:
                self._last_step = step
                return credentials.code_for_step(self.totp_secret, step)
            time.sleep(credentials.TOTP_STEP_SECONDS - time.time() % credentials.TOTP_STEP_SECONDS)


# -- the site in a thread --------------------------------------------------------------


class SiteServer:
    """The site on its own event loop in a thread, as ``coachmatch run`` serves it.

    Use :func:`running_site` (or the ``site`` fixture) rather than this class directly.
    """

    def __init__(self, settings: Settings, sock: socket.socket, *, workers: bool = True) -> None:
        self.settings = settings
        self.data_dir = settings.data_dir
        self.port: int = sock.getsockname()[1]
        # localhost: a secure context for the browser, so it keeps our Secure cookies.
        self.url = f"http://localhost:{self.port}"
        self._sock = sock
        self._workers = workers
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._main, name="browser-site", daemon=True)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runtime: Runtime | None = None
        self._server: Any = None
        self._error: BaseException | None = None

    @property
    def runtime(self) -> Runtime:
        """The server's runtime; use it only inside :meth:`call`."""
        assert self._runtime is not None, "the site is not running"
        return self._runtime

    def start(self) -> None:
        self._thread.start()
        if not self._ready.wait(timeout=START_TIMEOUT_SECONDS):
            raise RuntimeError(f"the site did not start within {START_TIMEOUT_SECONDS} s")
        if self._error is not None:
            raise RuntimeError("the site did not start") from self._error

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        self._thread.join(timeout=15)
        if self._thread.is_alive():
            raise RuntimeError("the site did not stop within 15 s")

    def call(self, coro: Coroutine[Any, Any, T], timeout: float = 60.0) -> T:
        """Run ``coro`` on the server's event loop (which owns the database) and return."""
        if self._loop is None:
            coro.close()
            raise RuntimeError("the site is not running")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def create_coach(
        self,
        *,
        email: str,
        name: str = "Browser Coach",
        password: str = PASSWORD,
        topics: Sequence[str] = ("carriereswitch",),
        regions: Sequence[str] = ("utrecht",),
        languages: Sequence[str] = ("nl", "en"),
        require_totp: bool = False,
    ) -> Account:
        """A coach made by the real service; ``require_totp`` asks a code at every login."""
        from matching import accounts

        coach_id, secret = self.call(
            accounts.create_coach(
                self.runtime,
                email=email,
                name=name,
                password=password,
                topics=topics,
                regions=regions,
                languages=languages,
                require_totp=require_totp,
            )
        )
        return Account("coach", coach_id, email, name, password, secret, require_totp)

    def create_admin(
        self, *, email: str, name: str = "Browser Admin", password: str = PASSWORD
    ) -> Account:
        """An admin (a TOTP code is always required at login)."""
        from matching import accounts

        admin_id, secret = self.call(
            accounts.create_admin(self.runtime, email=email, password=password, name=name)
        )
        return Account("admin", admin_id, email, name, password, secret, True)

    # -- in the thread -----------------------------------------------------------------

    def _main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported to the test, not lost in the thread
            self._error = exc
        finally:
            self._ready.set()

    async def _serve(self) -> None:
        import uvicorn

        from matching.runtime import close_runtime, open_runtime
        from web.app import create_app
        from workers.lifecycle import attach_workers

        self._loop = asyncio.get_running_loop()
        runtime = await open_runtime(self.settings)
        self._runtime = runtime
        try:
            if self._workers:
                workers = attach_workers(runtime)
                app = create_app(runtime, on_startup=(workers.start,), on_shutdown=(workers.stop,))
            else:
                app = create_app(runtime)
            config = uvicorn.Config(
                app, log_level="warning", access_log=False, server_header=False, lifespan="on"
            )
            server = uvicorn.Server(config)
            self._server = server
            serving = asyncio.create_task(server.serve(sockets=[self._sock]))
            while not server.started and not serving.done():
                await asyncio.sleep(0.02)
            self._ready.set()
            await serving
        finally:
            self._loop = None
            await close_runtime(runtime)


@contextlib.contextmanager
def running_site(
    data_dir: Path, settings: Mapping[str, object] | None = None, *, workers: bool = True
) -> Iterator[SiteServer]:
    """The site with its own data folder on a free loopback port, for the block.

    ``settings`` override :func:`tests.conftest.make_settings` (e.g.
    ``{"login_attempts_per_15_minutes": 3}``); ``workers=False`` leaves out the
    embedded workers (jobs then wait in the outbox).
    """
    settings = {"allowed_hosts": ("localhost", "127.0.0.1"), **(settings or {})}
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        site = SiteServer(make_settings(data_dir, **settings), sock, workers=workers)
        site.start()
        try:
            yield site
        finally:
            site.stop()
    finally:
        sock.close()


# -- the browser -----------------------------------------------------------------------


class NewContext(Protocol):
    """The ``new_context`` fixture: one more browser (its own cookies) on the site."""

    def __call__(self, *, locale: str = "nl-NL", **options: Any) -> BrowserContext: ...


def launch_chromium(playwright: Playwright) -> Browser:
    """Debian's chromium (Playwright cannot download its own browsers here)."""
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS))


def watch_console(page: Page, problems: list[str]) -> None:
    """Append the page's console errors and uncaught exceptions (CSP!) to ``problems``.

    A page answered with a 4xx (a form with bad input, a missing page) is not a
    problem here: chromium logs its status as an error, but the test checks the page.
    A stylesheet or script that fails to load is.
    """
    documents: set[str] = set()

    def on_response(response: Response) -> None:
        if response.request.is_navigation_request():
            documents.add(response.url)

    def on_console(message: ConsoleMessage) -> None:
        if message.type != "error":
            return
        url = message.location.get("url", "")
        if message.text.startswith("Failed to load resource") and url in documents:
            return
        problems.append(f"{message.text} ({url})" if url else message.text)

    page.on("response", on_response)
    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(str(error)))


def log_in(page: Page, account: Account, *, totp: str | None = None) -> None:
    """Log in through the login form (opened if needed); for a failing login pass ``totp``.

    The code is ``account.fresh_code()`` when the account needs one and ``totp`` is
    not given. Does not check the outcome: the test does.
    """
    if not page.url.endswith("/login"):
        page.goto("/login")
    if totp is None and account.totp_required:
        totp = account.fresh_code()
    page.locator("#email").fill(account.email)
    page.locator("#password").fill(account.password)
    page.locator("#totp").fill(totp or "")
    page.locator("form[action='/login'] [type=submit]").click()
    page.wait_for_load_state()


def screenshot(page: Page, name: str) -> Path:
    """A full-page screenshot, ``test-output/screenshots/<name>.png``."""
    if not _SAFE_NAME.fullmatch(name):
        raise ValueError(f"not a safe screenshot name: {name!r}")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def wait_for_mail(
    site: SiteServer, *, to: str, subject: str = "", timeout: float = 30.0
) -> MailboxMessage:
    """The first message in the site's dev mailbox to ``to`` (its subject containing
    ``subject``), waiting for the embedded workers to write it, at most ``timeout`` s."""
    from matching import mailbox

    deadline = time.monotonic() + timeout
    while True:
        for entry in mailbox.list_messages(site.settings.mailbox_dir):
            if to in entry.to and subject in entry.subject:
                return mailbox.read_message(site.settings.mailbox_dir, entry.name)
        if time.monotonic() > deadline:
            pytest.fail(f"no mail to {to} within {timeout} s", pytrace=False)
        time.sleep(0.1)


# -- accessibility ---------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Violation:
    """One failed axe rule on a page: which rule, how bad, and where."""

    rule: str
    impact: str
    help: str
    targets: tuple[str, ...]

    def __str__(self) -> str:
        where = "\n".join(f"      at {target}" for target in self.targets)
        return f"  - {self.rule} ({self.impact}): {self.help}\n{where}"


def run_axe(page: Page, tags: Sequence[str] = WCAG_21_AA) -> list[Violation]:
    """Every violation axe-core finds on the current page with the rules of ``tags``."""
    options = {"runOnly": {"type": "tag", "values": list(tags)}, "resultTypes": ["violations"]}
    results = _axe().run(page, options=options)
    return [
        Violation(
            rule=item["id"],
            impact=item.get("impact") or "unknown",
            help=item.get("help", ""),
            targets=tuple(_selector(node["target"]) for node in item.get("nodes", [])),
        )
        for item in results.response["violations"]
    ]


def assert_accessible(
    page: Page,
    name: str,
    *,
    tags: Sequence[str] = WCAG_21_AA,
    fail_on: Sequence[str] = BLOCKING_IMPACTS,
) -> list[Violation]:
    """Save a screenshot ``name``, then fail if axe finds a serious or critical violation.

    The message lists each rule id, its impact and the selectors of the elements.
    Returns all violations (the minor and moderate ones too) for a test to look at.
    """
    screenshot(page, name)
    violations = run_axe(page, tags)
    blocking = [v for v in violations if v.impact in fail_on]
    if blocking:
        report = "\n".join(str(v) for v in blocking)
        pytest.fail(f"accessibility violations on {name} ({page.url}):\n{report}", pytrace=False)
    return violations


@functools.cache
def _axe() -> Any:
    """One ``Axe`` for the session: it reads the 570 kB axe-core script once."""
    from axe_playwright_python.sync_playwright import Axe

    return Axe()


def _selector(target: Sequence[Any]) -> str:
    """axe names an element inside frames or shadow roots as a list of selectors."""
    return " >> ".join(
        " >> ".join(part) if isinstance(part, list) else str(part) for part in target
    )
