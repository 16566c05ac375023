"""Open the rendered book's pages in headless Chromium and report what a reader would see wrong.

Chromium is driven through the DevTools protocol over a pipe (``--remote-debugging-pipe``):
no driver binary, no port and no package beyond the Debian ``chromium`` package.
:func:`check_page` returns a :class:`PageReport` (console errors, broken images, links,
tracebacks, the banner and parameters checks, overflowing boxes) and saves a screenshot.
"""

from __future__ import annotations

import base64
import json
import os
import re
import select
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from mstl_lib.profiles import PROFILES

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "chrome")
BANNER_TITLE = "Provenance of the numbers on this page"
WINDOW = (1280, 900)
MAX_SCREENSHOT_HEIGHT = 12000
TIMEOUT_S = 60.0


def find_chromium() -> str | None:
    """Path of a Chromium executable (``$CHROMIUM`` first), or ``None``."""
    candidates = [os.environ.get("CHROMIUM", ""), *CHROMIUM_NAMES]
    for name in candidates:
        path = name and shutil.which(name)
        if path:
            return path
    return None


class DevToolsError(RuntimeError):
    """Chromium answered a DevTools command with an error, or went away."""


class Chromium:
    """One headless Chromium, spoken to with DevTools messages over fds 3 (in) and 4 (out)."""

    def __init__(self, executable: str, timeout: float = TIMEOUT_S):
        self.timeout = timeout
        self._profile = tempfile.TemporaryDirectory(prefix="mstl-chromium-")
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()

        def wire_fds():  # runs in the child: the pipe must be on fds 3 and 4
            os.dup2(to_child_r, 3)
            os.dup2(from_child_w, 4)

        args = [executable, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--no-default-browser-check", "--disable-extensions", "--hide-scrollbars",
                "--remote-debugging-pipe", f"--user-data-dir={self._profile.name}",
                f"--window-size={WINDOW[0]},{WINDOW[1]}", "about:blank"]
        self.process = subprocess.Popen(args, preexec_fn=wire_fds, pass_fds=(3, 4), stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(to_child_r)
        os.close(from_child_w)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict] = []

    # ------------------------------------------------------------------ protocol

    def _read_message(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            if time.monotonic() > deadline:
                raise DevToolsError("Chromium did not answer in time")
            ready, _, _ = select.select([self._from_child], [], [], 0.5)
            if ready:
                chunk = os.read(self._from_child, 1 << 20)
                if not chunk:
                    raise DevToolsError("Chromium closed the DevTools pipe (did it crash?)")
                self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def send(self, method: str, params: dict | None = None, session: str | None = None) -> dict:
        """Send one command and wait for its answer; events that arrive meanwhile are kept in :attr:`events`."""
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to_child, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            answer = self._read_message(deadline)
            if answer.get("id") == self._next_id:
                if "error" in answer:
                    raise DevToolsError(f"{method}: {answer['error']}")
                return answer.get("result", {})
            self.events.append(answer)

    def wait_for(self, method: str, session: str, timeout: float | None = None) -> dict:
        """Wait for the next event ``method`` of ``session`` (kept events included)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            for event in self.events:
                if event.get("method") == method and event.get("sessionId") == session:
                    self.events.remove(event)
                    return event
            self.events.append(self._read_message(deadline))

    def drain(self, seconds: float = 0.2) -> None:
        """Collect the events that arrive within ``seconds``."""
        deadline = time.monotonic() + seconds
        try:
            while True:
                self.events.append(self._read_message(deadline))
        except DevToolsError:
            pass

    def evaluate(self, expression: str, session: str):
        """The JSON value of a JavaScript expression (promises awaited)."""
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                                "awaitPromise": True}, session)
        if "exceptionDetails" in result:
            raise DevToolsError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def close(self) -> None:
        try:
            self.send("Browser.close")
        except (DevToolsError, OSError):
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for fd in (self._to_child, self._from_child):
            try:
                os.close(fd)
            except OSError:
                pass
        self._profile.cleanup()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# ---------------------------------------------------------------------- page checks

PAGE_SCRIPT = r"""
(async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
    try { await MathJax.startup.promise; } catch (e) { console.error('MathJax: ' + e); }
  }
  const order = (a, b) => a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING;
  const visible = (el) => !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length);
  const main = document.querySelector('main') || document.body || document.documentElement;
  const images = [...document.images].filter(i => visible(i) && (!i.complete || i.naturalWidth === 0))
    .map(i => i.getAttribute('src'));
  const links = [...document.querySelectorAll('a[href]')].map(a => a.href);
  // alt text a reader can use: present, and not a file name (myst-nb's default)
  const noAlt = [...main.querySelectorAll('img')].filter(visible).filter(i => {
    const alt = (i.getAttribute('alt') || '').trim();
    return !alt || /\.(png|jpe?g|svg|gif)$/i.test(alt) || alt === i.getAttribute('src');
  }).map(i => i.getAttribute('src'));
  const ids = [...document.querySelectorAll('[id]')].map(e => e.id);
  const errorBlocks = [...document.querySelectorAll(
      '.output.traceback, .output.error, .system-message, .cell_output .ansi-red-fg')]
    .filter(visible).map(e => e.innerText.slice(0, 200));
  const text = main.innerText;
  const tracebacks = [...text.matchAll(/Traceback \(most recent call last\)[^\n]*\n?[^\n]{0,160}/g)].map(m => m[0]);
  const banner = [...document.querySelectorAll('.admonition')]
    .find(a => (a.querySelector('.admonition-title') || {}).innerText === %BANNER%);
  // A result is a figure or a table in a cell's output; a chapter's settings table
  // (one column per profile) describes the protocol and is not one.
  const isSettings = (t) => {
    const head = [...t.querySelectorAll('thead th')].map(th => th.innerText.trim()).filter(x => x);
    return %PROFILES%.every(p => head.includes(p));
  };
  const results = [...main.querySelectorAll('.cell_output img, .cell_output table, .cell_output svg')]
    .filter(visible).filter(e => !e.closest('button'))
    .filter(e => e.tagName !== 'TABLE' || !isSettings(e));
  const firstResult = results.length ? results[0] : null;
  const parameterInputs = [...main.querySelectorAll('.cell_input')]
    .filter(visible).filter(e => /^\s*profile\s*=/m.test(e.innerText));
  // Content wider than its box must scroll inside it (overflow auto/scroll), not spill or be cut.
  const overflowing = [...main.querySelectorAll('.admonition, .admonition p, .admonition li, table, .cell_output, .output, pre, p, li')]
    .filter(visible)
    .filter(e => e.scrollWidth > e.clientWidth + 1 && !['auto', 'scroll'].includes(getComputedStyle(e).overflowX))
    .map(e => `<${e.tagName.toLowerCase()} class="${e.className}">: ${e.innerText.slice(0, 80)}`);
  return {
    title: document.title,
    images, noAlt, links, ids, errorBlocks, tracebacks,
    hasBanner: !!banner,
    bannerFirst: !!banner && (!firstResult || !!order(banner, firstResult)),
    nResults: results.length,
    firstResult: firstResult ? firstResult.outerHTML.slice(0, 160) : null,
    nParameterBlocks: parameterInputs.length,
    overflowing,
    pageWidth: document.documentElement.scrollWidth,
    viewportWidth: document.documentElement.clientWidth,
  };
})()
""".replace("%BANNER%", json.dumps(BANNER_TITLE)).replace("%PROFILES%", json.dumps(list(PROFILES)))


@dataclass
class PageReport:
    """What a reader of one page would see wrong (empty lists: nothing)."""

    page: Path
    console_errors: list[str] = field(default_factory=list)
    broken_images: list[str] = field(default_factory=list)
    images_without_alt: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)
    error_outputs: list[str] = field(default_factory=list)
    has_banner: bool = False
    banner_first: bool = False
    n_results: int = 0
    first_result: str | None = None
    n_parameter_blocks: int = 0
    overflowing: list[str] = field(default_factory=list)
    page_too_wide: bool = False
    screenshot: Path | None = None

    def problems(self, chapter: bool = False) -> list[str]:
        """Every problem of the page, one line each; ``chapter`` adds the banner and parameters checks."""
        out = [f"console error: {e}" for e in self.console_errors]
        out += [f"image not loaded: {src}" for src in self.broken_images]
        out += [f"image without alt text: {src}" for src in self.images_without_alt]
        out += [f"error output shown: {e}" for e in self.error_outputs]
        out += [f"content wider than its box (neither wraps nor scrolls): {e}" for e in self.overflowing]
        if self.page_too_wide:
            out.append("the page scrolls sideways")
        if chapter:
            if not self.has_banner:
                out.append(f"no banner titled {BANNER_TITLE!r}")
            elif not self.banner_first:
                out.append(f"a result is shown above the provenance banner: {self.first_result}")
            if self.n_parameter_blocks != 1:
                out.append(f"the parameters are shown {self.n_parameter_blocks} times, not once")
        return out


def open_session(browser: Chromium) -> str:
    """A new tab with the Runtime, Log and Page domains enabled; its session id."""
    target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    for domain in ("Page", "Runtime", "Log"):
        browser.send(f"{domain}.enable", {}, session)
    browser.send("Emulation.setDeviceMetricsOverride",
                 {"width": WINDOW[0], "height": WINDOW[1], "deviceScaleFactor": 1, "mobile": False}, session)
    return session


def _console_errors(events: list[dict], session: str) -> list[str]:
    out = []
    for event in events:
        if event.get("sessionId") != session:
            continue
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            out.append(" ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", [])))
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            out.append(details.get("exception", {}).get("description") or details.get("text", "exception"))
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            entry = params["entry"]
            out.append(f"{entry.get('text', '')} {entry.get('url', '')}".strip())
    return out


def wait_until_loaded(browser: Chromium, session: str, url: str, before: str | None, timeout: float = 30.0) -> None:
    """Wait until the tab has left the page ``before`` and shows ``url``, or the page ``url`` redirects to,
    with its document complete.

    A load event can belong to the page before (it may arrive after the events were
    cleared on a loaded machine), and the book's root ``index.html`` redirects, so the
    document itself is asked until its address is ``url`` or is new and stays put.
    """
    deadline = time.monotonic() + timeout
    state = last = None
    while time.monotonic() < deadline:
        try:
            state = browser.evaluate("[document.readyState, location.href, !!document.body]", session)
        except DevToolsError:  # the context was being replaced
            state = None
        if state and state[0] == "complete" and state[2]:
            href = state[1]
            if href == url or (href != before and href == last):
                return
            last = href
        time.sleep(0.2)
    raise DevToolsError(f"{url} did not finish loading within {timeout:g} s (last state {state})")


def check_page(browser: Chromium, session: str, page: Path, screenshot: Path | None = None) -> PageReport:
    """Load ``page`` (an HTML file) in the tab ``session`` and report what is wrong with it."""
    browser.events.clear()
    url = page.resolve().as_uri()
    try:
        before = browser.evaluate("location.href", session)
    except DevToolsError:
        before = None
    browser.send("Page.navigate", {"url": url}, session)
    browser.wait_for("Page.loadEventFired", session)
    wait_until_loaded(browser, session, url, before)
    found = browser.evaluate(PAGE_SCRIPT, session)
    browser.drain(0.3)
    report = PageReport(
        page=page,
        console_errors=_console_errors(browser.events, session),
        broken_images=found["images"],
        images_without_alt=found["noAlt"],
        links=found["links"],
        ids=set(found["ids"]),
        error_outputs=found["errorBlocks"] + found["tracebacks"],
        has_banner=found["hasBanner"],
        banner_first=found["bannerFirst"],
        n_results=found["nResults"],
        first_result=found["firstResult"],
        n_parameter_blocks=found["nParameterBlocks"],
        overflowing=found["overflowing"],
        page_too_wide=found["pageWidth"] > found["viewportWidth"] + 1,
    )
    if screenshot is not None:
        size = browser.send("Page.getLayoutMetrics", {}, session)["cssContentSize"]
        clip = {"x": 0, "y": 0, "width": WINDOW[0], "height": min(size["height"], MAX_SCREENSHOT_HEIGHT), "scale": 1}
        shot = browser.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True,
                                                       "clip": clip}, session)
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        screenshot.write_bytes(base64.b64decode(shot["data"]))
        report.screenshot = screenshot
    return report


def broken_links(reports: dict[Path, PageReport], site: Path) -> list[str]:
    """Internal links (``file:`` URLs inside ``site``) whose file or anchor does not exist."""
    site = site.resolve()
    out = []
    for page, report in reports.items():
        for link in report.links:
            parts = urlsplit(link)
            if parts.scheme != "file":
                continue
            target = Path(unquote(parts.path))
            where = f"{page.relative_to(site)} -> {link}"
            if not target.exists():
                out.append(f"{where}: no such file")
                continue
            if target.is_dir():
                target = target / "index.html"
            if parts.fragment and target.suffix == ".html":
                ids = reports[target].ids if target in reports else set()
                if target not in reports:
                    ids = set(re.findall(r'id="([^"]+)"', target.read_text(encoding="utf-8", errors="replace")))
                if unquote(parts.fragment) not in ids:
                    out.append(f"{where}: no anchor #{parts.fragment}")
    return out
