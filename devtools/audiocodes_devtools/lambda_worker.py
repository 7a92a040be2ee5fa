"""One Lambda execution environment: ``python -m audiocodes_devtools.lambda_worker FD MODULE HANDLER``.

Started by :mod:`lambda_host` with the function's environment (template variables plus the ones
Lambda sets: ``AWS_LAMBDA_FUNCTION_NAME``, ``AWS_LAMBDA_FUNCTION_MEMORY_SIZE``, ...), its code
directory as the working directory and its layers on ``PYTHONPATH``. It imports the handler once
(Lambda's INIT), tells the host how long that took, then runs one invocation at a time as the host
sends them over the pipe on ``FD``. Module state lives as long as this process, as it does in Lambda.

Nothing here prints request data: a handler that raises is reported by error type and traceback
frames, never by its message (messages can quote caller input).
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import json
import os
import resource
import signal
import sys
import time
import traceback
from multiprocessing.connection import Connection
from types import ModuleType
from typing import Any

# Only posts carrying this header reach the emulator's @connections endpoint (see README).
CONNECTIONS_KEY_HEADER = "X-Local-Connections-Key"


class LambdaContext:
    """The context object as Lambda's Python runtime builds it (memory size is a string there too)."""

    def __init__(self, request_id: str, deadline: float) -> None:
        self.aws_request_id = request_id
        self._deadline = deadline
        self.function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = os.environ["AWS_LAMBDA_FUNCTION_VERSION"]
        self.memory_limit_in_mb = os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"]
        self.log_group_name = os.environ["AWS_LAMBDA_LOG_GROUP_NAME"]
        self.log_stream_name = os.environ["AWS_LAMBDA_LOG_STREAM_NAME"]
        region, account = os.environ["AWS_REGION"], "123456789012"
        self.invoked_function_arn = f"arn:aws:lambda:{region}:{account}:function:{self.function_name}"
        self.identity = self.client_context = None

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.time()) * 1000))


class _TagConnectionsPosts(importlib.abc.MetaPathFinder):
    """When the handler first imports boto3, make its default session tag @connections calls.

    Registering lazily keeps boto3's import (~100 ms) inside the handler's INIT, where Lambda has it.
    """

    def __init__(self, key: str) -> None:
        self.key = key

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if name != "boto3":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        execute = spec.loader.exec_module
        key = self.key

        def exec_module(module: ModuleType) -> None:
            execute(module)

            def tag(request: Any, **_: Any) -> None:
                request.headers[CONNECTIONS_KEY_HEADER] = key

            module.setup_default_session()
            module.DEFAULT_SESSION.events.register("before-sign.apigatewaymanagementapi", tag)

        spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def _error(error: BaseException) -> dict[str, Any]:
    frames = [f"{frame.filename}:{frame.lineno} in {frame.name}" for frame in traceback.extract_tb(error.__traceback__)]
    # Lambda prints errorMessage too; it may quote caller input, so the emulator keeps it out.
    print(f"[ERROR] {type(error).__name__} (message withheld)\n  " + "\n  ".join(frames), flush=True)
    return {"errorType": type(error).__name__}


def main(argv: list[str]) -> None:
    # Ctrl-C in `make run` reaches the whole process group: the emulator stops this process itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    fd, module_name, handler_name = int(argv[0]), argv[1], argv[2]
    pipe = Connection(fd)
    devtools = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    sys.path[:] = [os.getcwd()] + [p for p in sys.path if p not in ("", devtools, os.getcwd())]  # like /var/task
    if os.environ.get("LOCAL_CONNECTIONS_KEY"):
        sys.meta_path.insert(0, _TagConnectionsPosts(os.environ.pop("LOCAL_CONNECTIONS_KEY")))
    started = time.perf_counter()
    try:
        handler = getattr(importlib.import_module(module_name), handler_name)
    except Exception as error:
        pipe.send_bytes(json.dumps({"init_error": _error(error)}).encode())
        return
    pipe.send_bytes(json.dumps({"init_ms": (time.perf_counter() - started) * 1000}).encode())
    while True:
        try:
            request = json.loads(pipe.recv_bytes())
        except EOFError:
            return
        context = LambdaContext(request["request_id"], request["deadline"])
        started = time.perf_counter()
        try:
            result = handler(request["event"], context)
        except Exception as error:
            encoded = json.dumps(_error(error))
        else:
            try:
                encoded = json.dumps({"result": result})
            except (TypeError, ValueError):  # what Lambda answers for a result it cannot serialise
                encoded = json.dumps({"errorType": "Runtime.MarshalError"})
        duration = (time.perf_counter() - started) * 1000
        memory = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        pipe.send_bytes(f'{{"duration_ms":{duration:.3f},"max_memory_mb":{memory},"reply":{encoded}}}'.encode())


if __name__ == "__main__":
    main(sys.argv[1:])
