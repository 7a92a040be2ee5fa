"""One place for the local emulator's ports and URLs, read the same way by every helper command.

``make run`` listens on ``PORT`` (default 3000) and starts moto on ``MOTO_PORT`` (default 5055, or a
free port when that is taken), then writes both URLs to ``.emulator.json`` at the repository root
(``EMULATOR_STATE_FILE`` moves it; empty disables it). ``make call``, ``inject``, ``notify``,
``transcript`` and ``summary`` find the emulator in this order: ``API_URL`` / ``MOTO_URL`` if set,
else ``PORT`` / ``MOTO_PORT`` if set, else the state file of a running ``make run``, else the defaults.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PORT, DEFAULT_MOTO_PORT = 3000, 5055


def state_file() -> Path | None:
    configured = os.environ.get("EMULATOR_STATE_FILE")
    if configured == "":
        return None
    return Path(configured) if configured else ROOT / ".emulator.json"


def write_state(**urls: str) -> None:
    path = state_file()
    if path is not None:
        path.write_text(json.dumps({"pid": os.getpid(), **urls}, indent=2) + "\n", encoding="utf-8")


def remove_state() -> None:
    """Remove the state file if it is this process's (another `make run` may have replaced it)."""
    path = state_file()
    if path is not None and (read_state() or {}).get("pid") == os.getpid():
        path.unlink(missing_ok=True)


def read_state() -> dict[str, Any] | None:
    """The running emulator's URLs, or None when no live `make run` wrote them."""
    path = state_file()
    if path is None or not path.is_file():
        return None
    try:
        state: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        os.kill(int(state["pid"]), 0)  # still running?
    except (ValueError, KeyError, TypeError, ProcessLookupError):
        return None
    except PermissionError:  # alive, someone else's
        pass
    return state


def api_url() -> str:
    """The emulator's HTTP API, e.g. ``http://127.0.0.1:3000``."""
    if os.environ.get("API_URL"):
        return os.environ["API_URL"].rstrip("/")
    if os.environ.get("PORT"):
        return f"http://127.0.0.1:{os.environ['PORT']}"
    return str((read_state() or {}).get("api_url") or f"http://127.0.0.1:{DEFAULT_PORT}")


def moto_url() -> str:
    """The emulator's moto (its DynamoDB, SQS, SSM), e.g. ``http://127.0.0.1:5055``."""
    if os.environ.get("MOTO_URL"):
        return os.environ["MOTO_URL"].rstrip("/")
    if os.environ.get("MOTO_PORT"):
        return f"http://127.0.0.1:{os.environ['MOTO_PORT']}"
    return str((read_state() or {}).get("moto_url") or f"http://127.0.0.1:{DEFAULT_MOTO_PORT}")


def nothing_answers(url: str, settings: str = "PORT= / API_URL=") -> str:
    """The one line every helper prints when the emulator is not there."""
    return f"No emulator answers at {url}: start it with `make run` (or set {settings} to where it runs)."


def use_local_moto() -> None:
    """Point boto3 in this process at the emulator's moto, with moto's dummy credentials."""
    os.environ["AWS_ENDPOINT_URL"] = moto_url()
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    os.environ.setdefault("AWS_DEFAULT_REGION", "eu-central-1")


def answers(url: str, timeout: float = 1.0) -> bool:
    """True when something accepts TCP connections at ``url``'s host and port."""
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    with (
        contextlib.suppress(OSError),
        socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout),
    ):
        return True
    return False
