"""Run the built functions as Lambda lays them out, against moto, with nothing of the repository visible.

Each function runs in its own process, in a private mount namespace (``unshare -m``, root), where:

    /opt           the built layers merged as Lambda unpacks them (read-only): /opt/python, /opt/agent
    /var/task      the built function (the task root, read-only)
    /var/lang      a clean python3.12 virtualenv holding only the layer's locked requirements
                   (host-platform wheels of the very versions the layer ships; the layer's own copies are
                   arm64 and cannot load here, so /opt/python keeps only what is not a locked distribution)
    /var/runtime   tests/fidelity/bootstrap.py, Lambda's runtime loop reduced to what the test needs
    /etc/hosts     the WebSocket API's host name pointing at moto
    <repository>   an empty tmpfs: a handler that reads a repository file fails as it would on Lambda

The environment is the template's (intrinsics resolved to the moto resources) plus Lambda's own
variables, plus AWS_ENDPOINT_URL and AWS_CA_BUNDLE: the test's network, which stands in for AWS.
moto runs in the test's process (a thread serving HTTPS), so the frames pushed to the WebSocket
management API can be read from its backend.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import ipaddress
import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from tests.conftest import ROOT

BUILD_DIR = ROOT / ".aws-sam" / "fidelity" / "build"
CACHE_DIR = ROOT / ".aws-sam" / "fidelity" / "cache"
VENV = ROOT / ".venv-fidelity"
LOCK = ROOT / "layers" / "runtime" / "requirements.txt"
BOOTSTRAP = Path(__file__).with_name("bootstrap.py")
REGION = "eu-central-1"
MOTO_ADDRESS = "127.0.0.141"  # a loopback address of its own: moto answers on 443 like AWS
WEBSOCKET_API_ID = "k9w8s7t6u5"  # the apiId of events/websocket/*.json
WEBSOCKET_HOST = f"{WEBSOCKET_API_ID}.execute-api.{REGION}.amazonaws.com"


@functools.cache
def sam_build() -> Path:
    """``sam build`` (arm64, as deployed) into .aws-sam/fidelity, once per test run; sam's own cache
    (keyed by the sources' and manifests' hashes) skips what did not change since the last run."""
    subprocess.run(
        ["bash", str(ROOT / "tools" / "sam.sh"), "build", "--cached", "--build-dir", str(BUILD_DIR),
         "--cache-dir", str(CACHE_DIR)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    return BUILD_DIR


def python312() -> str:
    """A working python3.12 (Lambda's runtime): on PATH, else pyenv's."""
    candidates = [shutil.which("python3.12") or ""]
    candidates += sorted(str(p) for p in Path.home().glob(".pyenv/versions/3.12.*/bin/python3.12"))
    for candidate in candidates:
        if candidate and subprocess.run([candidate, "-c", ""], capture_output=True).returncode == 0:
            return candidate
    raise RuntimeError("python3.12 (Lambda's runtime) is needed for the fidelity test")


def lambda_venv() -> Path:
    """.venv-fidelity: python3.12 with exactly the layer's lock, re-created when the lock changes."""
    marker = VENV / "installed-requirements.txt"
    if marker.exists() and marker.read_bytes() == LOCK.read_bytes():
        return VENV
    shutil.rmtree(VENV, ignore_errors=True)
    subprocess.run([python312(), "-m", "venv", "--without-pip", str(VENV)], check=True)
    # pip from the outside (the test's own), so the venv holds nothing but the lock.
    subprocess.run(
        [str(ROOT / ".venv" / "bin" / "python"), "-m", "pip", "--python", str(VENV / "bin" / "python"),
         "install", "--quiet", "--disable-pip-version-check", "--require-hashes", "--only-binary=:all:",
         "--no-deps", "-r", str(LOCK)],
        check=True,
    )  # fmt: skip
    shutil.copyfile(LOCK, marker)
    return VENV


def locked_distributions() -> dict[str, str]:
    """``{normalised name: version}`` of every line of the layer's lock."""
    pins = {}
    for line in LOCK.read_text().splitlines():
        if line and not line.startswith((" ", "#")) and "==" in line:
            name, _, version = line.split(" ")[0].partition("==")
            pins[_normalise(name)] = version
    return pins


def distributions(site: Path) -> dict[str, tuple[str, Path]]:
    """``{normalised name: (version, dist-info folder)}`` installed in ``site``."""
    found = {}
    for info in site.glob("*.dist-info"):
        name, version = _metadata(info)
        found[_normalise(name)] = (version, info)
    return found


def _metadata(info: Path) -> tuple[str, str]:
    fields = dict(
        line.split(": ", 1) for line in (info / "METADATA").read_text().splitlines() if ": " in line and line[0] != " "
    )
    return fields["Name"], fields["Version"]


def _normalise(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def distribution_files(site: Path) -> set[Path]:
    """Every file the distributions in ``site`` installed (their RECORDs), relative to ``site``."""
    files = set()
    for info in site.glob("*.dist-info"):
        for row in (info / "RECORD").read_text().splitlines():
            path = row.rsplit(",", 2)[0]
            if path:
                files.add(Path(os.path.normpath(path)))
        files.add(info.relative_to(site))
    return files


def merged_layers(build: Path, layer_ids: list[str]) -> dict[Path, Path]:
    """``{path under /opt: built file}`` as Lambda unpacks the layers in order; a clash is an error."""
    merged: dict[Path, Path] = {}
    for layer_id in layer_ids:
        root = build / layer_id
        for file in sorted(p for p in root.rglob("*") if p.is_file() or p.is_symlink()):
            relative = file.relative_to(root)
            if relative in merged:
                raise AssertionError(f"{layer_id} overwrites /opt/{relative} of an earlier layer")
            merged[relative] = file
    return merged


def stage_opt(build: Path, layer_ids: list[str], into: Path) -> None:
    """/opt as Lambda unpacks the layers, minus the locked distributions (the venv has their host builds)."""
    site = build / "RuntimeLayer" / "python"
    shipped_by_lock = {Path("python") / path for path in distribution_files(site)}
    for relative, source in merged_layers(build, layer_ids).items():
        if relative in shipped_by_lock or any(parent in shipped_by_lock for parent in relative.parents):
            continue
        target = into / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)


# --- moto over HTTPS ------------------------------------------------------------------------------


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for moto's address and the WebSocket API's host; the functions trust it (AWS_CA_BUNDLE)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "moto")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address(MOTO_ADDRESS)), x509.DNSName(WEBSOCKET_HOST)]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "moto.pem", directory / "moto.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_file, key_file


class MotoServer:
    """moto's server app on https://127.0.0.141:443, in a thread of this process."""

    def __init__(self, cert_file: Path, key_file: Path) -> None:
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
        from werkzeug.serving import make_server

        class RoutedByHost(DomainDispatcherApplication):
            """moto's server picks a backend from the signature; a WebSocket API's @connections call
            under a stage (``/live/@connections/...``, as API Gateway hands out) would land in IoT, which
            shares the signing name. AWS routes it by host name; so does this. moto's server route for
            the staged path does not match (its rule reads the regex's ``+`` literally): the stage is cut,
            which API Gateway's management API does not care about either (one stage here)."""

            def get_application(self, environ: dict[str, Any]) -> Any:
                if str(environ.get("HTTP_HOST", "")).split(":")[0] == WEBSOCKET_HOST:
                    for key in ("PATH_INFO", "REQUEST_URI", "RAW_URI"):  # moto reads the raw URI too
                        path = str(environ.get(key, ""))
                        environ[key] = path[path.index("/@connections/") :] if "/@connections/" in path else path
                    with self.lock:
                        if "apigatewaymanagementapi" not in self.app_instances:
                            self.app_instances["apigatewaymanagementapi"] = self.create_app("apigatewaymanagementapi")
                        return self.app_instances["apigatewaymanagementapi"]
                return super().get_application(environ)

        app = RoutedByHost(create_backend_app)
        self._server = make_server(
            MOTO_ADDRESS,
            443,
            app,
            threaded=True,
            request_handler=MotoRequestHandler,
            ssl_context=(str(cert_file), str(key_file)),
        )
        self.url = f"https://{MOTO_ADDRESS}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join()


# --- one function, as Lambda runs it ------------------------------------------------------------


def lambda_variables(function_id: str, spec: Any) -> dict[str, str]:
    """What Lambda itself puts in a python3.12 function's environment (credentials are moto's)."""
    return {
        "AWS_LAMBDA_FUNCTION_NAME": function_id,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_size),
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function_id}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2026/12/01/[$LATEST]fidelity",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
        "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
        "_AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1",
        "_AWS_XRAY_DAEMON_PORT": "2000",
        "_HANDLER": f"{spec.handler_module}.{spec.handler_name}",
        "LAMBDA_TASK_ROOT": "/var/task",
        "LAMBDA_RUNTIME_DIR": "/var/runtime",
        "LANG": "en_US.UTF-8",
        "TZ": ":UTC",
        "PATH": "/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/opt/bin",
        "LD_LIBRARY_PATH": (
            "/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:/var/task:/var/task/lib:/opt/lib"
        ),
        # Lambda's bootstrap puts these before the runtime's own site-packages (/var/lang here).
        "PYTHONPATH": "/var/task:/opt/python/lib/python3.12/site-packages:/opt/python:/var/runtime",
    }


@dataclass
class LambdaProcess:
    """One warm execution environment of a function: init once, then invocations in order."""

    function_id: str
    timeout: int
    process: subprocess.Popen[bytes]
    answers: IO[str]
    log_file: Path
    init: dict[str, Any] = field(default_factory=dict)

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write((json.dumps({"event": event, "timeout": self.timeout}) + "\n").encode())
        self.process.stdin.flush()
        line = self.answers.readline()
        if not line:
            raise AssertionError(f"{self.function_id} died; its log:\n{self.logs()}")
        answer: dict[str, Any] = json.loads(line)
        if "error" in answer:
            raise AssertionError(f"{self.function_id} raised:\n{answer['error']}\nlog:\n{self.logs()}")
        return answer

    def logs(self) -> str:
        return self.log_file.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.answers.close()


def start_function(
    *, function_id: str, spec: Any, build: Path, venv: Path, stage: Path, environment: dict[str, str],
    network: dict[str, str], hosts: Path,
) -> LambdaProcess:  # fmt: skip
    """Start ``function_id`` in its own mount namespace; returns once its init finished (or failed)."""
    opt = stage / f"opt-{function_id}"
    stage_opt(build, list(spec.layers), opt)
    runtime_dir = stage / "runtime"
    runtime_dir.mkdir(exist_ok=True)
    shutil.copyfile(BOOTSTRAP, runtime_dir / "bootstrap.py")
    for mount_point in ("/var/task", "/var/lang", "/var/runtime"):
        Path(mount_point).mkdir(parents=True, exist_ok=True)  # empty folders where Lambda has its own
    binds = [
        (opt, "/opt"),
        (build / function_id, "/var/task"),
        (venv, "/var/lang"),
        (runtime_dir, "/var/runtime"),
        (hosts, "/etc/hosts"),
    ]
    read_end, write_end = os.pipe()
    script = "set -e\n"
    for source, target in binds:
        script += f"mount --bind '{source}' '{target}'\nmount -o remount,bind,ro '{target}'\n"
    script += f"mount -t tmpfs -o ro,size=1m fidelity-hides-the-repo '{ROOT}'\n"
    script += f'cd /var/task\nexec env -i "$@" /var/lang/bin/python -s -P /var/runtime/bootstrap.py {write_end}\n'
    variables = {**environment, **lambda_variables(function_id, spec), **network}
    log_file = stage / f"{function_id}.log"
    with log_file.open("wb") as log:
        process = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh",
             *(f"{name}={value}" for name, value in variables.items())],
            stdin=subprocess.PIPE, stdout=log, stderr=subprocess.STDOUT, pass_fds=(write_end,),
        )  # fmt: skip
    os.close(write_end)
    answers = os.fdopen(read_end, "r")
    started = LambdaProcess(function_id, spec.timeout, process, answers, log_file)
    line = answers.readline()
    if not line:
        raise AssertionError(f"{function_id} did not start; its log:\n{started.logs()}")
    started.init = json.loads(line)
    return started


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def walk(root: Path) -> Iterator[Path]:
    yield from (p for p in sorted(root.rglob("*")) if p.is_file() or p.is_symlink())
