"""Lambda's execution model, locally: per function, a pool of execution environments (processes).

- Each environment is a :mod:`lambda_worker` process that imports the handler once (INIT, logged as
  Lambda logs it) and then runs **one invocation at a time**; module state (Powertools' resolver,
  Logger keys, a masking flag) is never shared by two concurrent requests.
- A pool starts environments on demand, up to the function's concurrency limit (the template's
  ``ReservedConcurrentExecutions``, else ``EMULATOR_CONCURRENCY``, default 4), one INIT at a time,
  and reuses warm ones (most recently used first, as Lambda tends to). Past the limit, invocations
  wait for a free environment (Lambda would throttle; a laptop's limit is far below an account's 1,000).
- The function's ``Timeout`` is enforced: the environment is killed (``Task timed out after ...``),
  the invocation fails with :class:`FunctionTimeout`, and the next invocation starts a fresh one.

HTTP, WebSocket and SQS event sources all invoke through these pools.
"""

from __future__ import annotations

import collections
import contextlib
import json
import math
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

DEFAULT_CONCURRENCY = 4
INIT_TIMEOUT_SECONDS = 30.0  # Lambda allows 10 s; a loaded laptop importing cold needs more


class FunctionError(RuntimeError):
    """The invocation failed (the handler raised, INIT failed, or the result was not JSON)."""

    def __init__(self, function: str, error_type: str) -> None:
        super().__init__(f"{function}: {error_type}")
        self.error_type = error_type


class FunctionTimeout(FunctionError):
    """The invocation ran past the function's Timeout; its environment was stopped."""


@dataclass(frozen=True)
class FunctionConfig:
    """What an execution environment needs: code, handler, limits and the process environment."""

    logical_id: str
    function_name: str
    code_uri: Path
    handler_module: str
    handler_name: str
    timeout: int  # seconds
    memory_size: int  # MB
    concurrency: int
    environment: dict[str, str] = field(default_factory=dict)  # the function's variables, resolved
    python_path: tuple[str, ...] = ()  # layers that Lambda would put on sys.path (/opt/python)

    def process_environment(self, base: dict[str, str]) -> dict[str, str]:
        """``base`` (AWS endpoint, credentials) plus what Lambda sets, plus the function's own variables."""
        devtools = str(Path(__file__).resolve().parents[1])
        lambda_variables = {
            "AWS_LAMBDA_FUNCTION_NAME": self.function_name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.memory_size),
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(self.timeout),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{self.function_name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": f"local/[$LATEST]{uuid.uuid4().hex}",
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
            "LAMBDA_TASK_ROOT": str(self.code_uri),
            "_HANDLER": f"{self.handler_module}.{self.handler_name}",
            "PYTHONPATH": os.pathsep.join([*self.python_path, devtools]),
            "PYTHONUNBUFFERED": "1",
        }
        return {**base, **lambda_variables, **self.environment}


class ExecutionEnvironment:
    """One worker process running one function's handler, one invocation at a time."""

    def __init__(self, config: FunctionConfig, base_environment: dict[str, str], log: Log) -> None:
        self.config = config
        self._log = log
        parent, child = socket.socketpair()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "audiocodes_devtools.lambda_worker", str(child.fileno()),
             config.handler_module, config.handler_name],
            cwd=config.code_uri, env=config.process_environment(base_environment), pass_fds=[child.fileno()],
        )  # fmt: skip
        child.close()
        self._pipe = Connection(parent.detach())
        self.init_ms: float | None = None
        log(config.logical_id, "INIT_START Runtime Version: python:local")
        if not self._pipe.poll(INIT_TIMEOUT_SECONDS):
            self.kill()
            raise FunctionError(config.logical_id, "Runtime.InitTimeout")
        try:
            answer = json.loads(self._pipe.recv_bytes())
        except (EOFError, OSError) as error:  # the process exited during INIT (sys.exit, a signal)
            self.kill()
            raise FunctionError(config.logical_id, "Runtime.ExitError") from error
        if "init_error" in answer:
            self.kill()
            raise FunctionError(config.logical_id, f"Runtime.InitError {answer['init_error']['errorType']}")
        self._first_invocation = True  # its REPORT line carries the Init Duration
        self.init_ms = answer["init_ms"]

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def invoke(self, event: dict[str, Any]) -> Any:
        """Run one invocation; returns the handler's result or raises FunctionError/FunctionTimeout."""
        request_id = str(uuid.uuid4())
        timeout = self.config.timeout
        request = {"request_id": request_id, "deadline": time.time() + timeout, "event": event}
        try:
            self._pipe.send_bytes(json.dumps(request).encode())
            if not self._pipe.poll(timeout):
                self.kill()
                self._log(self.config.logical_id, f"{request_id} Task timed out after {timeout:.2f} seconds")
                raise FunctionTimeout(self.config.logical_id, "Sandbox.Timedout")
            answer = json.loads(self._pipe.recv_bytes())
        except (EOFError, OSError) as error:  # the process died (sys.exit, os._exit, a signal)
            self.kill()
            raise FunctionError(self.config.logical_id, "Runtime.ExitError") from error
        init = f"\tInit Duration: {self.init_ms:.2f} ms" if self._first_invocation else ""
        self._first_invocation = False
        self._log(
            self.config.logical_id,
            f"REPORT RequestId: {request_id}\tDuration: {answer['duration_ms']:.2f} ms\t"
            f"Billed Duration: {math.ceil(answer['duration_ms'])} ms\tMemory Size: {self.config.memory_size} MB\t"
            f"Max Memory Used: {answer['max_memory_mb']} MB{init}",
            report=True,
        )
        reply = answer["reply"]
        if "errorType" in reply:
            raise FunctionError(self.config.logical_id, reply["errorType"])
        return reply["result"]

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()
        with contextlib.suppress(Exception):
            self.process.wait(timeout=5)
        self._pipe.close()


class Log:
    """Lambda's platform lines (INIT_START, REPORT, timeouts) on the emulator's output."""

    def __init__(self, reports: bool = True) -> None:
        self.reports = reports
        self._lock = threading.Lock()

    def __call__(self, function: str, line: str, *, report: bool = False) -> None:
        if report and not self.reports:
            return
        with self._lock:
            print(f"  [{function}] {line}", file=sys.stderr, flush=True)


class _Waiter:
    """An invocation waiting for an environment: handed one, or the right to start one."""

    def __init__(self) -> None:
        self.ready = threading.Event()
        self.environment: ExecutionEnvironment | None = None
        self.may_start = False


class FunctionPool:
    """The execution environments of one function.

    Waiting invocations are served first come, first served: a released environment is handed to
    the longest waiter, never to a request that just arrived (under a burst, barging let some
    requests wait past any client's timeout).
    """

    def __init__(self, config: FunctionConfig, base_environment: dict[str, str], log: Log) -> None:
        self.config = config
        self._base = base_environment
        self._log = log
        self._idle: list[ExecutionEnvironment] = []
        self._all: set[ExecutionEnvironment] = set()
        self._starting = 0
        self._waiters: collections.deque[_Waiter] = collections.deque()
        self._lock = threading.Lock()
        self._stopped = False

    @property
    def size(self) -> int:
        with self._lock:
            return len(self._all)

    def invoke(self, event: dict[str, Any]) -> Any:
        environment = self._acquire()
        try:
            return environment.invoke(event)
        finally:
            self._release(environment)

    def stop(self) -> None:
        with self._lock:
            self._stopped = True
            environments = list(self._all)
            self._all.clear()
            self._idle.clear()
            waiters = list(self._waiters)
            self._waiters.clear()
        for waiter in waiters:
            waiter.ready.set()
        for environment in environments:
            environment.kill()

    def _acquire(self) -> ExecutionEnvironment:
        with self._lock:
            if self._stopped:
                raise FunctionError(self.config.logical_id, "EmulatorStopped")
            if self._idle and not self._waiters:
                return self._idle.pop()  # the warmest environment first
            waiter = _Waiter()
            if not self._waiters and self._may_start():
                self._starting += 1
                waiter.may_start = True
            else:
                self._waiters.append(waiter)
        if not waiter.may_start:
            waiter.ready.wait()
            if waiter.environment is not None:
                return waiter.environment
            if not waiter.may_start:
                raise FunctionError(self.config.logical_id, "EmulatorStopped")
        return self._start()

    def _may_start(self) -> bool:
        # One INIT at a time per function: ten cold imports at once on a laptop's two cores take
        # longer than waiting for the first warm environment (Lambda has the cores; we do not).
        return self._starting == 0 and len(self._all) < self.config.concurrency and not self._stopped

    def _start(self) -> ExecutionEnvironment:
        try:
            environment = ExecutionEnvironment(self.config, self._base, self._log)
        except BaseException:
            with self._lock:
                self._starting -= 1
                self._hand_over()
            raise
        with self._lock:
            self._starting -= 1
            self._all.add(environment)
            self._hand_over()  # the next waiter may start another environment now
        return environment

    def _release(self, environment: ExecutionEnvironment) -> None:
        with self._lock:
            if environment.alive and not self._stopped:
                self._idle.append(environment)
            else:
                self._all.discard(environment)  # a timed-out or crashed environment is replaced on demand
            self._hand_over()

    def _hand_over(self) -> None:
        """Give idle environments to the longest waiters, then perhaps the right to start one (lock held)."""
        while self._waiters and self._idle:
            waiter = self._waiters.popleft()
            waiter.environment = self._idle.pop()
            waiter.ready.set()
        if self._waiters and self._may_start():
            waiter = self._waiters.popleft()
            self._starting += 1
            waiter.may_start = True
            waiter.ready.set()
