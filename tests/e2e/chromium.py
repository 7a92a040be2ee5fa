"""A headless Chromium (Debian's package) driven over the Chrome DevTools Protocol, for the browser phone.

No Playwright: the protocol's Runtime.evaluate over one WebSocket (the ``websockets`` library we already
pin) is all the page test needs, and nothing downloads a browser. ``chromium_path()`` installs Debian's
``chromium`` with apt when it is missing and the test runs as root, else says why it cannot.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
from websockets.sync.client import ClientConnection, connect

CHROMIUM = "/usr/bin/chromium"
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
)  # fmt: skip


def chromium_path() -> tuple[str | None, str]:
    """The browser's path, or None and the reason it is missing (installed with apt when root)."""
    if Path(CHROMIUM).is_file():
        return CHROMIUM, ""
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return None, f"{CHROMIUM} is missing and this is not root with apt-get: `apt-get install chromium`"
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "--no-install-recommends", "chromium"]
    if subprocess.run(install, env=environment, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update"], env=environment, capture_output=True)
        if subprocess.run(install, env=environment, capture_output=True).returncode != 0:
            return None, "apt-get install chromium failed (no access to Debian's mirrors?)"
    return (CHROMIUM, "") if Path(CHROMIUM).is_file() else (None, f"apt installed no {CHROMIUM}")


class PageError(AssertionError):
    """The page threw, or what a test waited for did not come."""


class Browser:
    """One Chromium with one page; ``evaluate`` runs JavaScript in it and returns the value."""

    def __init__(self, executable: str, profile: Path) -> None:
        self.process = subprocess.Popen(
            [executable, *FLAGS, f"--user-data-dir={profile}", "--remote-debugging-port=0", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        port = self._debugging_port(profile / "DevToolsActivePort")
        pages = httpx.get(f"http://127.0.0.1:{port}/json/list", timeout=10).json()
        page = next(p for p in pages if p["type"] == "page")
        self._socket: ClientConnection = connect(
            page["webSocketDebuggerUrl"], max_size=None, open_timeout=10, legacy=True
        )
        self._ids = itertools.count(1)
        self.exceptions: list[str] = []
        self.send("Runtime.enable")

    def _debugging_port(self, marker: Path) -> int:
        # Chromium writes the port it chose to its profile once it listens.
        for _ in range(600):
            if marker.is_file() and marker.read_text().strip():
                return int(marker.read_text().splitlines()[0])
            if self.process.poll() is not None:
                raise RuntimeError(f"chromium exited with {self.process.returncode}")
            time.sleep(0.1)
        raise RuntimeError("chromium did not open its debugging port")

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        ident = next(self._ids)
        self._socket.send(json.dumps({"id": ident, "method": method, "params": params}))
        while True:
            message = json.loads(self._socket.recv(timeout=60))
            if message.get("method") == "Runtime.exceptionThrown":
                details = message["params"]["exceptionDetails"]
                self.exceptions.append(str(details.get("exception", {}).get("description") or details.get("text")))
            if message.get("id") == ident:
                if "error" in message:
                    raise PageError(f"{method}: {message['error']}")
                return dict(message.get("result") or {})

    def goto(self, url: str) -> None:
        self.send("Page.navigate", url=url)

    def evaluate(self, expression: str) -> Any:
        result = self.send("Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in result:
            raise PageError(f"{expression}: {result['exceptionDetails'].get('exception', {}).get('description')}")
        return result["result"].get("value")

    def wait_for(self, expression: str, what: str, timeout: float = 30.0) -> Any:
        """Poll until the expression is truthy; its value. Generous: the machine is shared, this is no timing test."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                value = self.evaluate(expression)
            except PageError:
                value = None  # the page is still loading
            if value:
                return value
            time.sleep(0.1)
        page = self.evaluate("document.body.innerText")
        raise PageError(f"waited {timeout}s for {what}; the page:\n{page}\nexceptions: {self.exceptions}")

    def close(self) -> None:
        self._socket.close()
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
