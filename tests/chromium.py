"""Headless Chromium for the HTML report's tests: load a page, then read what a person sees.

Spoken to over the DevTools protocol on a pipe (``--remote-debugging-pipe``: the browser
reads commands on its fd 3 and writes on its fd 4, each message JSON ended by a NUL), so
nothing listens on a port. :func:`load` gives the page's title, its visible text
(``innerText``: what is shown, not what a closed ``<details>`` hides), its size, how many
elements of each kind a payload might have made, every console message, log entry
(a Content-Security-Policy violation is one) and uncaught exception, and a screenshot.
"""

from __future__ import annotations

import base64
import json
import os
import select
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Loaded", "chromium", "load"]

#: Debian's package installs ``chromium``; the others are the usual names elsewhere.
NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def chromium() -> str | None:
    """The browser to use: ``$PROOFSWE_CHROMIUM``, else the first of NAMES on the PATH; None when there is none."""
    given = os.environ.get("PROOFSWE_CHROMIUM")
    if given:
        return given
    return next((found for name in NAMES if (found := shutil.which(name))), None)


@dataclass(frozen=True)
class Loaded:
    title: str
    text: str  # document.body.innerText
    width: int  # the page's scroll size in CSS pixels
    height: int
    counts: dict[str, int]  # script, img, iframe, object, embed, link, on* attributes, <details open>
    console: list[str]  # console messages, log entries and uncaught exceptions, "level: text"
    png: bytes  # a screenshot of the whole page (or of the first `clip_height` pixels)
    details: int  # <details> elements


_PROBE = """JSON.stringify({
  title: document.title,
  text: document.body ? document.body.innerText : "",
  width: document.documentElement.scrollWidth,
  height: document.documentElement.scrollHeight,
  details: document.querySelectorAll("details").length,
  counts: {
    script: document.querySelectorAll("script").length,
    img: document.querySelectorAll("img").length,
    iframe: document.querySelectorAll("iframe").length,
    object: document.querySelectorAll("object, embed").length,
    link: document.querySelectorAll("link:not([rel=icon])").length,
    handlers: [...document.querySelectorAll("*")].filter(e => [...e.attributes].some(a => a.name.startsWith("on"))).length,
    open: document.querySelectorAll("details[open]").length,
  },
})"""


# Runs in the child: the pipe's ends onto fds 3 and 4 (moved out of the way first, so neither clobbers the
# other whatever their numbers), then the browser in its place.
_ON_3_AND_4 = """
import fcntl, os, sys
read, write = (fcntl.fcntl(int(fd), fcntl.F_DUPFD, 10) for fd in sys.argv[1:3])
os.dup2(read, 3)
os.dup2(write, 4)
os.execv(sys.argv[3], sys.argv[3:])
"""


class _Browser:
    def __init__(self, exe: str, profile: str) -> None:
        self._log = open(Path(profile).parent / f"{Path(profile).name}.log", "w+b")  # noqa: SIM115 (closed in close())
        to_browser, self._to = os.pipe()
        self._from, from_browser = os.pipe()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                _ON_3_AND_4,
                str(to_browser),
                str(from_browser),
                exe,
                "--headless",
                "--no-sandbox",  # root in a container has no user namespace sandbox to give
                "--disable-gpu",
                "--remote-debugging-pipe",
                "--no-first-run",
                "--no-default-browser-check",
                "--disable-extensions",
                "--hide-scrollbars",
                f"--user-data-dir={profile}",
                "about:blank",
            ],
            pass_fds=(to_browser, from_browser),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=self._log,
        )
        os.close(to_browser)
        os.close(from_browser)
        self._buffer = b""
        self._id = 0
        self.events: list[dict[str, Any]] = []

    def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None) -> dict[str, Any]:
        self._id += 1
        message: dict[str, Any] = {"id": self._id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._to, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + 60
        while True:
            reply = self._read(deadline)
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                result: dict[str, Any] = reply.get("result", {})
                return result
            self.events.append(reply)

    def wait(self, event: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not any(e.get("method") == event for e in self.events):
            self.events.append(self._read(deadline))

    def _read(self, deadline: float) -> dict[str, Any]:
        while b"\0" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("Chromium did not answer within 60 s")
            ready, _, _ = select.select([self._from], [], [], left)
            if ready:
                chunk = os.read(self._from, 1 << 20)
                if not chunk:
                    raise EOFError(f"Chromium closed its pipe (exit status {self.proc.poll()}): {self.log_tail()}")
                self._buffer += chunk
        raw, _, self._buffer = self._buffer.partition(b"\0")
        message: dict[str, Any] = json.loads(raw)
        return message

    def log_tail(self) -> str:
        self._log.flush()
        self._log.seek(0)
        return self._log.read().decode("utf-8", "replace")[-2000:]

    def close(self) -> None:
        try:
            self.send("Browser.close")
        except (OSError, EOFError, TimeoutError, RuntimeError):
            pass
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to)
        os.close(self._from)
        self._log.close()
        Path(self._log.name).unlink(missing_ok=True)


def _messages(events: list[dict[str, Any]]) -> list[str]:
    out = []
    for e in events:
        params = e.get("params", {})
        if e.get("method") == "Runtime.consoleAPICalled":
            args = " ".join(str(a.get("value", a.get("description", ""))) for a in params.get("args", []))
            out.append(f"console.{params.get('type')}: {args}")
        elif e.get("method") == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            out.append(f"exception: {details.get('exception', {}).get('description') or details.get('text')}")
        elif e.get("method") == "Log.entryAdded":
            entry = params.get("entry", {})
            out.append(f"{entry.get('level')} ({entry.get('source')}): {entry.get('text')}")
    return out


def load(
    page: Path, *, width: int = 1280, height: int = 900, clip_height: int | None = None, fragment: str = ""
) -> Loaded:
    """Open ``page`` (a file) in headless Chromium at ``width`` x ``height`` and read it, then close the browser.

    The screenshot is of the whole page (its first ``clip_height`` pixels when given), or,
    with a ``fragment``, of the window scrolled to it.
    """
    exe = chromium()
    if exe is None:
        raise FileNotFoundError(f"no Chromium: none of {', '.join(NAMES)} is on the PATH")
    with tempfile.TemporaryDirectory(prefix="proofswe-chromium-") as profile:
        browser = _Browser(exe, profile)
        try:
            target = browser.send("Target.createTarget", {"url": "about:blank"})["targetId"]
            session = browser.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
            for method in ("Page.enable", "Runtime.enable", "Log.enable"):
                browser.send(method, session=session)
            browser.send(
                "Emulation.setDeviceMetricsOverride",
                {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
                session=session,
            )
            url = page.resolve().as_uri() + (f"#{fragment}" if fragment else "")
            browser.send("Page.navigate", {"url": url}, session=session)
            browser.wait("Page.loadEventFired")
            probe = browser.send("Runtime.evaluate", {"expression": _PROBE, "returnByValue": True}, session=session)[
                "result"
            ]["value"]
            seen = json.loads(probe)
            params: dict[str, Any] = {"format": "png"}
            if not fragment:  # the whole page (up to clip_height): else what the window shows at the fragment
                shot_height = min(int(seen["height"]), clip_height or int(seen["height"]))
                params |= {"clip": {"x": 0, "y": 0, "width": width, "height": shot_height, "scale": 1}}
                params |= {"captureBeyondViewport": True}
            shot = browser.send("Page.captureScreenshot", params, session=session)
            console = _messages(browser.events)
        finally:
            browser.close()
    return Loaded(
        title=seen["title"],
        text=seen["text"],
        width=int(seen["width"]),
        height=int(seen["height"]),
        counts={k: int(v) for k, v in seen["counts"].items()},
        console=console,
        png=base64.b64decode(shot["data"]),
        details=int(seen["details"]),
    )
