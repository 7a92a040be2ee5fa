"""Lambda's runtime loop, reduced to what the fidelity test needs; runs INSIDE the Lambda layout.

Mounted as /var/runtime/bootstrap.py (where Lambda keeps its own bootstrap) and started by
``python -s -P`` with only Lambda's variables, the template's and the test's AWS endpoint. Standard
library only: nothing of the repository may be importable here. It imports the handler named by
``_HANDLER`` from the task root (the init phase), then answers one invocation per line read from
stdin (``{"event", "timeout"}``) on the file descriptor named by its argument (stdout and stderr are
the function's logs, as in CloudWatch).

Each answer carries the AWS operations the invocation made (service, operation, table), recorded by
wrapping botocore's ``BaseClient._make_api_call`` once botocore is imported: the IAM test compares
them with the function's policy.
"""

import importlib
import importlib.abc
import importlib.machinery
import json
import os
import sys
import time
import traceback
import uuid

OPERATIONS = []


def _record_operations(client_module):
    original = client_module.BaseClient._make_api_call

    def _make_api_call(self, operation_name, api_params):
        # The table, where there is one: the IAM test checks which table each action is allowed on.
        OPERATIONS.append([self.meta.service_model.service_name, operation_name, api_params.get("TableName", "")])
        return original(self, operation_name, api_params)

    client_module.BaseClient._make_api_call = _make_api_call


class _PatchBotocoreOnImport(importlib.abc.MetaPathFinder):
    """Patches botocore.client when (and only when) the function imports it: init stays as on Lambda."""

    def find_spec(self, name, path, target=None):
        if name != "botocore.client":
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        loader = spec.loader
        exec_module = loader.exec_module

        def exec_and_patch(module):
            exec_module(module)
            _record_operations(module)

        loader.exec_module = exec_and_patch
        return spec


class Context:
    """The fields of Lambda's context object that handlers and Powertools read."""

    def __init__(self, deadline):
        self.function_name = os.environ["AWS_LAMBDA_FUNCTION_NAME"]
        self.function_version = os.environ["AWS_LAMBDA_FUNCTION_VERSION"]
        self.memory_limit_in_mb = int(os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"])
        self.invoked_function_arn = (
            f"arn:aws:lambda:{os.environ['AWS_REGION']}:123456789012:function:{self.function_name}"
        )
        self.log_group_name = os.environ["AWS_LAMBDA_LOG_GROUP_NAME"]
        self.log_stream_name = os.environ["AWS_LAMBDA_LOG_STREAM_NAME"]
        self.aws_request_id = str(uuid.uuid4())
        self.identity = None
        self.client_context = None
        self._deadline = deadline

    def get_remaining_time_in_millis(self):
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def main():
    answers = os.fdopen(int(sys.argv[1]), "w", buffering=1)
    sys.meta_path.insert(0, _PatchBotocoreOnImport())
    module_name, _, function_name = os.environ["_HANDLER"].rpartition(".")
    started = time.perf_counter()
    try:
        handler = getattr(importlib.import_module(module_name), function_name)
    except Exception:  # an init error, as Lambda reports Runtime.ImportModuleError
        answers.write(json.dumps({"init_error": traceback.format_exc(), "sys_path": sys.path}) + "\n")
        return
    init_ms = (time.perf_counter() - started) * 1000
    answers.write(json.dumps({"init_ms": init_ms, "sys_path": sys.path, "operations": OPERATIONS}) + "\n")
    for line in sys.stdin:
        invocation = json.loads(line)
        event, timeout = invocation["event"], invocation["timeout"]
        OPERATIONS.clear()
        # Lambda sets a new trace header per invocation (Tracing: Active).
        os.environ["_X_AMZN_TRACE_ID"] = (
            f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Parent={uuid.uuid4().hex[:16]};Sampled=1"
        )
        started = time.perf_counter()
        try:
            result = handler(event, Context(time.monotonic() + timeout))
            answer = {"result": result}
        except Exception:
            answer = {"error": traceback.format_exc()}
        answer["ms"] = (time.perf_counter() - started) * 1000
        answer["operations"] = list(OPERATIONS)
        answers.write(json.dumps(answer, default=str) + "\n")


if __name__ == "__main__":
    main()
