"""`make secrets-check`: every secret reference in agent/endpoints/, checked in the target account.

For each endpoint's ``bot_token`` and ``inject_api_key``, says whether the secret exists and can be
read (with decryption, as the functions read it) using your AWS credentials and region, and prints
the command that stores each missing one. Exit status 1 when anything is missing or unreadable.
References outside ``audiocodes-endpoint/`` are flagged too: the functions' IAM policies allow no other.

    python -m audiocodes_devtools.secrets_check [--agent agent] [--kms-key-id <SecretsKmsKeyArn>]
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from audiocodes_endpoint.config.endpoint import load_endpoints

PREFIX = "audiocodes-endpoint/"
FIELDS = ("bot_token", "inject_api_key")


@dataclass(frozen=True)
class Finding:
    endpoint: str
    field: str
    reference: str
    status: str  # "ok", "missing", "unreadable (<code>)", "outside audiocodes-endpoint/", "env"
    fix: str = ""


def references(agent_dir: Path) -> Iterator[tuple[str, str, str]]:
    """(url_token, field, reference) for every secret reference of every endpoint."""
    for endpoint in load_endpoints(agent_dir).values():
        for field in FIELDS:
            reference = getattr(endpoint, field)
            if reference:
                yield endpoint.url_token, field, reference


def check(agent_dir: Path, *, kms_key_id: str | None = None, clients: dict[str, Any] | None = None) -> list[Finding]:
    import boto3
    from botocore.exceptions import ClientError

    made = clients or {}
    findings = []
    for url_token, field, reference in references(agent_dir):
        scheme, _, name = reference.partition(":")
        placeholder = f"<{url_token} {field.replace('_', ' ')}>"
        if scheme == "env":
            findings.append(
                Finding(url_token, field, reference, "env", f"set {name} in the functions' environment (template.yaml)")
            )
            continue
        if not name.lstrip("/").startswith(PREFIX):
            findings.append(Finding(url_token, field, reference, f"outside {PREFIX}",
                                    f"store it under /{PREFIX} (the only path the functions may read)"))  # fmt: skip
            continue
        service = "ssm" if scheme == "ssm" else "secretsmanager"
        client = made.setdefault(service, boto3.client(service))
        try:
            if service == "ssm":
                client.get_parameter(Name=name, WithDecryption=True)
            else:
                client.get_secret_value(SecretId=name)
            findings.append(Finding(url_token, field, reference, "ok"))
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            missing = code in ("ParameterNotFound", "ResourceNotFoundException")
            findings.append(Finding(url_token, field, reference, "missing" if missing else f"unreadable ({code})",
                                    _store_command(service, name, placeholder, kms_key_id)))  # fmt: skip
    return findings


def _store_command(service: str, name: str, placeholder: str, kms_key_id: str | None) -> str:
    if service == "ssm":
        command = ["aws", "ssm", "put-parameter", "--type", "SecureString", "--name", name, "--value", placeholder]
        command += ["--key-id", kms_key_id] if kms_key_id else []
        return shlex.join([*command, "--overwrite"])
    command = ["aws", "secretsmanager", "create-secret", "--name", name, "--secret-string", placeholder]
    command += ["--kms-key-id", kms_key_id] if kms_key_id else []
    return shlex.join(command)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agent", type=Path, default=Path("agent"))
    parser.add_argument("--kms-key-id", help="the stack's SecretsKmsKeyArn, when secrets use a customer-managed key")
    args = parser.parse_args(argv)
    findings = check(args.agent, kms_key_id=args.kms_key_id)
    for finding in findings:
        print(f"{finding.status.upper():<12} {finding.endpoint:<20} {finding.field:<15} {finding.reference}")
        if finding.fix:
            print(f"    {finding.fix}")
    problems = [f for f in findings if f.status not in ("ok", "env")]
    print(f"{len(findings)} secret reference(s), {len(problems)} to fix")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
