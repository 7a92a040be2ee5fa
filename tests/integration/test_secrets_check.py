"""`make secrets-check` on moto: it names every missing secret, and its commands store them."""

from __future__ import annotations

import shlex
from pathlib import Path

import boto3
import pytest

from audiocodes_devtools import secrets_check
from tests.conftest import ROOT


def test_lists_every_reference_and_prints_a_working_command_for_each_missing_one(
    aws: None, capsys: pytest.CaptureFixture[str]
) -> None:
    # Given an account where only demo's bot token is stored
    ssm = boto3.client("ssm")
    ssm.put_parameter(Name="/audiocodes-endpoint/demo/bot-token", Value="t", Type="SecureString")

    # When the check runs over the shipped agent
    status = secrets_check.main(["--agent", str(ROOT / "agent")])
    output = capsys.readouterr().out

    # Then it fails, lists all five references, and says which four are missing
    assert status == 1
    rows = [line.split() for line in output.splitlines() if not line.startswith(" ")][:-1]
    assert sorted((row[0], row[1], row[2]) for row in rows) == [
        ("MISSING", "demo-async", "bot_token"),
        ("MISSING", "demo-async", "inject_api_key"),
        ("MISSING", "demo-llm", "bot_token"),
        ("MISSING", "demo-translated", "bot_token"),
        ("OK", "demo", "bot_token"),
    ]
    commands = [shlex.split(line.strip()) for line in output.splitlines() if line.startswith("    aws ")]
    assert len(commands) == 4

    # When each printed command is run (here through boto3, with a value in place of the placeholder)
    for command in commands:
        assert command[:4] == ["aws", "ssm", "put-parameter", "--type"] and command[4] == "SecureString"
        name = command[command.index("--name") + 1]
        ssm.put_parameter(Name=name, Value=f"value-of-{name}", Type="SecureString", Overwrite=True)

    # Then the check passes, and it never printed a stored value
    assert secrets_check.main(["--agent", str(ROOT / "agent")]) == 0
    assert "value-of-" not in capsys.readouterr().out


def test_flags_references_the_functions_may_not_read_and_adds_the_customer_key(aws: None, tmp_path: Path) -> None:
    # Given an endpoint whose token lives outside audiocodes-endpoint/ and a key in Secrets Manager
    (tmp_path / "endpoints").mkdir()
    (tmp_path / "endpoints" / "x.yaml").write_text(
        "url_token: x\nflow: main\nbot_token: ssm:/other/x-token\n"
        "inject_api_key: secretsmanager:audiocodes-endpoint/x\n"
    )

    # When checked with the stack's customer-managed key
    findings = secrets_check.check(tmp_path, kms_key_id="arn:aws:kms:eu-central-1:123456789012:key/k")

    # Then the first is outside the policy's path, the second missing, with the key in its command
    assert [(f.field, f.status) for f in findings] == [
        ("bot_token", "outside audiocodes-endpoint/"),
        ("inject_api_key", "missing"),
    ]
    assert "--kms-key-id arn:aws:kms:eu-central-1:123456789012:key/k" in findings[1].fix
    assert findings[1].fix.startswith("aws secretsmanager create-secret --name audiocodes-endpoint/x")
