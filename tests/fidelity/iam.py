"""Each function's IAM policy against the AWS operations its code makes.

An operation is (service, operation, table): recorded while the fidelity replay runs the built
functions (bootstrap.py wraps botocore), plus the operations on paths the replay does not drive,
listed in NOT_REPLAYED with the code that makes them. A policy grant is (action, resource): the
DynamoDB table's logical id for dynamodb actions, "" for the rest (their resources are checked by
test_template.py's own tests where it matters).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "layers" / "runtime" / "audiocodes_endpoint"

# botocore service name -> IAM service prefix.
PREFIXES = {
    "dynamodb": "dynamodb",
    "sqs": "sqs",
    "ssm": "ssm",
    "secretsmanager": "secretsmanager",
    "translate": "translate",
    "comprehend": "comprehend",
    "lexv2-runtime": "lex",
    "kms": "kms",
    "bedrock-runtime": "bedrock",
    "events": "events",
}
# Operations authorized by an action of another name (Bedrock: "Actions, resources and condition keys").
ACTIONS = {
    ("bedrock-runtime", "Converse"): "bedrock:InvokeModel",
    ("bedrock-runtime", "ConverseStream"): "bedrock:InvokeModelWithResponseStream",
    # A transaction needs the actions of the items it holds (DynamoDB developer guide, "Using IAM with
    # DynamoDB transactions"); ours hold Update items only (campaign_store.py).
    ("dynamodb", "TransactWriteItems"): "dynamodb:UpdateItem",
    # SendMessageBatch is authorized by sqs:SendMessage (SQS API reference, SendMessageBatch).
    ("sqs", "SendMessageBatch"): "sqs:SendMessage",
}


def action_of(service: str, operation: str) -> str:
    """The IAM action an API operation needs (the WebSocket management API has one for all)."""
    if service == "apigatewaymanagementapi":
        return "execute-api:ManageConnections"
    return ACTIONS.get((service, operation)) or f"{PREFIXES[service]}:{operation}"


@dataclass(frozen=True)
class Unreplayed:
    """An operation the replay does not reach, and where the code makes it (file, text found there)."""

    functions: tuple[str, ...]
    service: str
    operation: str
    table: str
    evidence: tuple[str, str]
    why: str


TURNS = ("BotApiFunction", "DispatcherFunction")  # the two places a turn runs (sync, async)
SECRET_READERS = ("BotApiFunction", "WebSocketFunction", "InjectNotifyFunction", "OutboundFunction")
OUTBOUND = ("OutboundFunction",)

NOT_REPLAYED = [
    Unreplayed(SECRET_READERS, "secretsmanager", "GetSecretValue", "",
               ("layers/runtime/audiocodes_endpoint/adapters/aws/parameters.py", "parameters.get_secret("),
               "a token or key referenced as secretsmanager:<name>; the demo agent uses ssm: only"),
    Unreplayed(SECRET_READERS, "kms", "Decrypt", "",
               ("layers/runtime/audiocodes_endpoint/adapters/aws/parameters.py", "decrypt=True"),
               "SecureStrings under a customer-managed key (SecretsKmsKeyArn); moto needs no key"),
    Unreplayed(("BotApiFunction",), "apigatewaymanagementapi", "DeleteConnection", "",
               ("layers/runtime/audiocodes_endpoint/adapters/aws/websocket_pusher.py", ".delete_connection("),
               "VAIC disconnects an async call over HTTP: the Bot API closes its WebSocket"),
    Unreplayed(TURNS, "translate", "TranslateText", "",
               ("layers/runtime/audiocodes_endpoint/adapters/aws/translate.py", ".translate_text("),
               "endpoints with translation (demo-translated); moto has no Translate"),
    Unreplayed(TURNS, "comprehend", "DetectDominantLanguage", "",
               ("layers/runtime/audiocodes_endpoint/config/translation.py", 'AUTO = "auto"'),
               "Translate's automatic source language calls Comprehend with the caller's credentials"),
    Unreplayed(TURNS, "lexv2-runtime", "RecognizeText", "",
               ("layers/runtime/audiocodes_endpoint/adapters/aws/lex.py", ".recognize_text("),
               "endpoints with nlu: {connector: lex}; granted on LexBotAliasArns only"),
    Unreplayed(TURNS, "dynamodb", "GetItem", "SessionsTable",
               ("layers/runtime/audiocodes_endpoint/core/conversation.py", "seen = store.get(token, conversation)"),
               "a turn that finds the call's lease taken re-reads the session while it waits in line"),
    Unreplayed(TURNS, "bedrock-runtime", "ConverseStream", "",
               ("layers/runtime/audiocodes_endpoint/adapters/aws/bedrock.py", ".converse_stream("),
               "llm nodes on Bedrock in async mode; moto has no Bedrock (tests: botocore Stubber)"),
    Unreplayed(TURNS, "bedrock-runtime", "Converse", "",
               ("layers/runtime/audiocodes_endpoint/adapters/aws/bedrock.py", ".converse("),
               "llm nodes on Bedrock (the sync path), llm_extract and the llm NLU connector"),
    Unreplayed(TURNS, "bedrock-runtime", "ApplyGuardrail", "",
               ("layers/runtime/audiocodes_endpoint/adapters/aws/bedrock.py", '"guardrailConfig"'),
               "llm.guardrail_id: Converse with guardrailConfig needs bedrock:ApplyGuardrail"),
    Unreplayed(("InjectNotifyFunction",), "dynamodb", "PutItem", "SessionsTable",
               ("layers/runtime/audiocodes_endpoint/adapters/aws/idempotency.py", "DynamoDBPersistenceLayer("),
               "Idempotency-Key: Powertools writes the idempotency record"),
    Unreplayed(("InjectNotifyFunction",), "dynamodb", "DeleteItem", "SessionsTable",
               ("layers/runtime/audiocodes_endpoint/adapters/aws/idempotency.py", "DynamoDBPersistenceLayer("),
               "Idempotency-Key: Powertools deletes the record when accepting fails"),
    Unreplayed(OUTBOUND, "dynamodb", "PutItem", "SessionsTable",
               ("layers/runtime/audiocodes_endpoint/adapters/aws/outbound_store.py", "self._client.put_item("),
               "placing a call records it first; the replay has no VAIC to place it with"),
    Unreplayed(OUTBOUND, "dynamodb", "UpdateItem", "SessionsTable",
               ("layers/runtime/audiocodes_endpoint/adapters/aws/outbound_store.py", "self._client.update_item("),
               "each status (initiated, VAIC's callbacks) appended to the call's history"),
    Unreplayed(OUTBOUND, "dynamodb", "DeleteItem", "SessionsTable",
               ("layers/runtime/audiocodes_endpoint/adapters/aws/idempotency.py", "DynamoDBPersistenceLayer("),
               "Idempotency-Key: Powertools deletes the record when placing the call fails"),
    Unreplayed(OUTBOUND, "dynamodb", "BatchWriteItem", "SessionsTable",
               ("layers/runtime/audiocodes_endpoint/adapters/aws/campaign_store.py", ".batch_write_item("),
               "creating a campaign writes its targets 25 at a time"),
    Unreplayed(OUTBOUND, "dynamodb", "BatchGetItem", "SessionsTable",
               ("layers/runtime/audiocodes_endpoint/adapters/aws/campaign_store.py", ".batch_get_item("),
               "a campaign message reads the campaign and its target; resume and results read the targets"),
    Unreplayed(OUTBOUND, "dynamodb", "TransactWriteItems", "SessionsTable",
               ("layers/runtime/audiocodes_endpoint/adapters/aws/campaign_store.py", ".transact_write_items("),
               "claiming a target's attempt with a slot, deferring it, finishing it with the counters"),
    Unreplayed(OUTBOUND, "sqs", "SendMessageBatch", "",
               ("layers/runtime/audiocodes_endpoint/adapters/aws/campaign_store.py", ".send_message_batch("),
               "a campaign's targets, retries and window waits go to the campaign queue"),
    Unreplayed(OUTBOUND, "events", "PutEvents", "",
               ("layers/runtime/audiocodes_endpoint/adapters/aws/outbound_store.py", "self._client.put_events("),
               "each status change published on the default bus"),
]  # fmt: skip


def grants(function: dict[str, Any], *, conditions: dict[str, bool]) -> set[tuple[str, str]]:
    """(action, table logical id or "") for every Allow statement of a function's Policies."""
    found = set()
    for policy in function["Properties"].get("Policies", []):
        assert set(policy) == {"Statement"}, f"only explicit statements say what they allow: {policy}"
        for statement in policy["Statement"]:
            statement = _choose(statement, conditions)
            if statement is None:
                continue
            assert statement["Effect"] == "Allow"
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            table = _table(statement["Resource"])
            for action in actions:
                found.add((action, table if action.startswith("dynamodb:") else ""))
    return found


def _choose(node: Any, conditions: dict[str, bool]) -> Any:
    if isinstance(node, dict) and set(node) == {"Fn::If"}:
        name, when_true, when_false = node["Fn::If"]
        chosen = when_true if conditions[name] else when_false
        return None if chosen == {"Ref": "AWS::NoValue"} else chosen
    return node


def _table(resource: Any) -> str:
    if isinstance(resource, dict) and "Fn::GetAtt" in resource:
        logical_id, attribute = resource["Fn::GetAtt"]
        return str(logical_id) if attribute == "Arn" else ""
    return ""


def needed(function_id: str, recorded: set[tuple[str, str, str]], tables: dict[str, str]) -> set[tuple[str, str]]:
    """What the function's code needs: recorded operations plus NOT_REPLAYED, as (action, table)."""
    operations = {(service, operation, tables.get(table, table)) for service, operation, table in recorded}
    operations |= {(u.service, u.operation, u.table) for u in NOT_REPLAYED if function_id in u.functions}
    return {(action_of(s, o), t if s == "dynamodb" else "") for s, o, t in operations}
