"""The functions that run turns may make every Bedrock call the LLM providers make."""

import boto3
import pytest

from audiocodes_devtools.template import load_template
from tests.conftest import ROOT

# boto3 operation -> the IAM action that authorizes it (Bedrock's "Actions, resources and condition
# keys" page: Converse needs InvokeModel, ConverseStream InvokeModelWithResponseStream, and a
# guardrailConfig ApplyGuardrail).
ACTIONS = {
    "Converse": "bedrock:InvokeModel",
    "ConverseStream": "bedrock:InvokeModelWithResponseStream",
    "ApplyGuardrail": "bedrock:ApplyGuardrail",
}


def allowed(function: str) -> set[str]:
    template = load_template(ROOT / "template.yaml")
    policies = template.resources("AWS::Serverless::Function")[function]["Properties"]["Policies"]
    actions: set[str] = set()
    for policy in policies:
        for statement in policy.get("Statement", []):
            if statement.get("Effect") == "Allow":
                listed = statement["Action"]
                actions.update([listed] if isinstance(listed, str) else listed)
    return actions


@pytest.mark.parametrize("function", ["BotApiFunction", "DispatcherFunction"])
def test_functions_that_run_turns_may_call_every_bedrock_operation_we_use(function):
    model = boto3.client("bedrock-runtime", region_name="eu-central-1").meta.service_model
    assert set(ACTIONS) <= set(model.operation_names)
    assert set(ACTIONS.values()) <= allowed(function)
