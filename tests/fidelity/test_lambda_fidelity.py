"""The built artifacts run as Lambda runs them: the events/ replay through every function, on moto.

`sam build` (arm64), then each function in the layout Lambda gives it (see harness.py): only the built
layers in /opt, the built function as the task root, a clean python3.12 with the layer's locked
requirements, only the template's and Lambda's variables, the repository hidden. The sync and the
async call of tests/replay go through all four functions and must give events/expected/ byte for byte
(after the same normalisation). It fails when a handler imports something not shipped, reads a file
of the repository, or needs a variable only the emulator or the tests set.

Each invocation's AWS operations are recorded; test_iam.py compares them with the template's policies.
Run by `make fidelity` (part of `make test`); needs root for `unshare -m` and python3.12.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import quote

import boto3
import pytest

from audiocodes_devtools.sqs_poller import SqsPoller
from audiocodes_devtools.template import Template, load_template
from tests.fidelity import harness, iam
from tests.integration.conftest import pushed
from tests.replay.test_events_replay import (
    ASYNC_CALL,
    EXPECTED,
    FRAMES,
    OUTBOUND,
    SECRETS,
    SYNC_CALL,
    answer,
    event,
    normalise,
)

pytestmark = [
    pytest.mark.sam,
    pytest.mark.timeout(900),  # the first run creates .venv-sam and .venv-fidelity and builds the layer
    pytest.mark.skipif(os.environ.get("SKIP_SAM") == "1", reason="SKIP_SAM=1"),
    pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("unshare"), reason="needs root and unshare -m"),
]

FUNCTIONS = {
    "bot_api": "BotApiFunction",
    "websocket": "WebSocketFunction",
    "dispatcher": "DispatcherFunction",
    "inject_notify": "InjectNotifyFunction",
    "outbound": "OutboundFunction",
}

OPERATIONS = Path(os.environ.get("FIDELITY_OPERATIONS", harness.BUILD_DIR.parent / "operations.json"))


@pytest.fixture(scope="module")
def build() -> Path:
    # .venv-fidelity (made on a first run or a changed lock) is installed while sam build runs: neither
    # reads what the other writes; `functions` then finds it ready
    with ThreadPoolExecutor(1) as pool:
        venv = pool.submit(harness.lambda_venv)
        built = harness.sam_build()
        venv.result()  # its error, if any, fails the build fixture
    return built


@pytest.fixture(scope="module")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[harness.MotoServer, Path]]:
    directory = tmp_path_factory.mktemp("moto")
    cert, key = harness.self_signed_certificate(directory)
    server = harness.MotoServer(cert, key)
    yield server, cert
    server.stop()


@pytest.fixture(scope="module")
def aws(moto: tuple[harness.MotoServer, Path]) -> dict[str, Any]:
    """The stack's resources on moto, made from template.yaml; the secrets the events' calls use."""
    server, cert = moto
    clients = {
        name: boto3.client(name, endpoint_url=server.url, verify=str(cert), region_name=harness.REGION)
        for name in ("dynamodb", "sqs", "ssm")
    }
    template = load_template(harness.ROOT / "template.yaml")
    names = {}
    for logical_id, table in template.dynamodb_tables().items():
        name = f"fidelity-{logical_id}"
        clients["dynamodb"].create_table(**table.create_table_kwargs(name))
        if table.ttl_attribute:
            clients["dynamodb"].update_time_to_live(
                TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": table.ttl_attribute}
            )
        names[logical_id] = name
    queues = {queue.logical_id: queue for queue in template.sqs_queues()}
    dlq = clients["sqs"].create_queue(**queues["TurnDeadLetterQueue"].create_queue_kwargs("fidelity-dlq.fifo"))
    dlq_arn = clients["sqs"].get_queue_attributes(QueueUrl=dlq["QueueUrl"], AttributeNames=["QueueArn"])
    url = clients["sqs"].create_queue(
        **queues["TurnQueue"].create_queue_kwargs("fidelity-turns.fifo", dlq_arn["Attributes"]["QueueArn"])
    )["QueueUrl"]
    arn = clients["sqs"].get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    campaign_dlq = clients["sqs"].create_queue(
        **queues["CampaignDeadLetterQueue"].create_queue_kwargs("fidelity-campaign-dlq")
    )["QueueUrl"]
    campaign_dlq_arn = clients["sqs"].get_queue_attributes(QueueUrl=campaign_dlq, AttributeNames=["QueueArn"])
    campaigns = clients["sqs"].create_queue(
        **queues["CampaignQueue"].create_queue_kwargs("fidelity-campaigns", campaign_dlq_arn["Attributes"]["QueueArn"])
    )
    for name, value in SECRETS.items():
        clients["ssm"].put_parameter(Name=name, Value=value, Type="SecureString", Overwrite=True)
    resolve = {
        **names, "TurnQueue": url, "TurnQueue.QueueName": "fidelity-turns.fifo", "TurnQueue.Arn": arn,
        "CampaignQueue": campaigns["QueueUrl"],
        "WebSocketApi": harness.WEBSOCKET_API_ID, "AWS::Region": harness.REGION, "AWS::AccountId": "123456789012",
    }  # fmt: skip
    return {"template": template, "resolve": resolve, "queue_url": url, "queue_arn": arn, "clients": clients}


@pytest.fixture(scope="module")
def functions(
    build: Path, aws: dict[str, Any], moto: tuple[harness.MotoServer, Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, harness.LambdaProcess]]:
    """The four functions, each a warm execution environment in its own Lambda layout."""
    server, cert = moto
    venv = harness.lambda_venv()
    stage = tmp_path_factory.mktemp("lambda")
    hosts = stage / "hosts"
    hosts.write_text(Path("/etc/hosts").read_text() + f"\n{harness.MOTO_ADDRESS} {harness.WEBSOCKET_HOST}\n")
    template: Template = aws["template"]
    network = {"AWS_ENDPOINT_URL": server.url, "AWS_CA_BUNDLE": str(cert)}
    started: dict[str, harness.LambdaProcess] = {}
    try:
        for folder, function_id in FUNCTIONS.items():
            spec = template.function(function_id, resolve=aws["resolve"])
            started[folder] = harness.start_function(
                function_id=function_id,
                spec=spec,
                build=build,
                venv=venv,
                stage=stage,
                environment=dict(spec.environment),
                network=network,
                hosts=hosts,
            )
        yield started
    finally:
        for process in started.values():
            process.stop()


@pytest.fixture(scope="module")
def operations() -> Iterator[dict[str, set[tuple[str, str]]]]:
    """AWS operations each function made, written for test_iam.py when the module ends."""
    seen: dict[str, set[tuple[str, str]]] = {function_id: set() for function_id in FUNCTIONS.values()}
    yield seen
    OPERATIONS.parent.mkdir(parents=True, exist_ok=True)
    OPERATIONS.write_text(json.dumps({k: sorted(v) for k, v in seen.items()}, indent=2) + "\n")


def replay(
    functions: dict[str, harness.LambdaProcess], call: list[tuple[str, str]], operations: dict[str, set[Any]]
) -> dict[tuple[str, str], dict[str, Any]]:
    results = {}
    for folder, name in call:
        function = functions[folder]
        invoked = function.invoke(event(folder, name))
        operations[function.function_id].update(tuple(op) for op in invoked["operations"])
        expected = json.loads((EXPECTED / folder / f"{name}.json").read_text())
        assert answer(invoked["result"]) == expected, f"{folder}/{name}\n{function.logs()[-3000:]}"
        results[folder, name] = invoked["result"]
    return results


def test_every_function_initialises_from_the_built_artifacts_alone(
    functions: dict[str, harness.LambdaProcess],
) -> None:
    # Given each function started in its Lambda layout
    for process in functions.values():
        # Then its init succeeded, and nothing of the repository was on its import path
        assert "init_error" not in process.init, process.init.get("init_error")
        assert not [p for p in process.init["sys_path"] if str(harness.ROOT) in p]
        # (the runtime puts the agent first itself, so its extensions import as top-level modules)
        lambda_path = [p for p in process.init["sys_path"] if p != "/opt/agent"]
        assert lambda_path[:3] == ["/var/task", "/opt/python/lib/python3.12/site-packages", "/opt/python"]


def test_the_sync_call_replays_as_expected_through_the_built_bot_api(
    functions: dict[str, harness.LambdaProcess], operations: dict[str, set[Any]]
) -> None:
    replay(functions, SYNC_CALL, operations)


def test_the_async_call_replays_as_expected_across_the_four_built_functions(
    functions: dict[str, harness.LambdaProcess], aws: dict[str, Any], operations: dict[str, set[Any]]
) -> None:
    # When the async call is replayed up to the socket closing
    *before_close, close = ASYNC_CALL
    replay(functions, before_close, operations)

    # And the event source mapping delivers what the handlers queued to the dispatcher
    sqs = aws["clients"]["sqs"]
    messages = []
    while received := sqs.receive_message(
        QueueUrl=aws["queue_url"], MaxNumberOfMessages=10, AttributeNames=["All"]
    ).get("Messages"):
        messages += received
        for message in received:
            sqs.delete_message(QueueUrl=aws["queue_url"], ReceiptHandle=message["ReceiptHandle"])
    assert [json.loads(m["Body"])["kind"] for m in messages] == ["flush", "activity", "notify", "inject", "inject"]
    mapping = SqsPoller(
        queue_url=aws["queue_url"],
        queue_arn=aws["queue_arn"],
        batch_size=10,
        reports_failures=True,
        invoke=lambda batch: batch,
        region=harness.REGION,
    )
    dispatched = functions["dispatcher"].invoke(mapping.event(messages))
    operations["DispatcherFunction"].update(tuple(op) for op in dispatched["operations"])
    assert dispatched["result"] == {"batchItemFailures": []}, functions["dispatcher"].logs()[-3000:]
    replay(functions, [close], operations)

    # Then the WebSocket got the frames the in-process replay expects
    connection = event("websocket", "connect")["requestContext"]["connectionId"]
    assert normalise(pushed(quote(connection, safe=""))) == json.loads(FRAMES.read_text())


def test_the_outbound_events_replay_as_expected_through_the_built_function(
    functions: dict[str, harness.LambdaProcess], operations: dict[str, set[Any]]
) -> None:
    # Placing a call needs VAIC (tests/integration drives that); these read and guard call records
    replay(functions, OUTBOUND, operations)


def test_no_function_logged_a_secret(functions: dict[str, harness.LambdaProcess]) -> None:
    # Given everything the functions wrote to their logs during the replays
    for process in functions.values():
        logs = process.logs()
        # Then no token or key value appears in them
        for value in SECRETS.values():
            assert value not in logs, (process.function_id, value)


@pytest.mark.parametrize(
    "conditions",
    [
        {"HasSecretsKmsKey": True, "HasLexBots": True},
        {"HasSecretsKmsKey": False, "HasLexBots": False},
    ],
    ids=["kms-key-and-lex-bots", "no-kms-key-no-lex-bots"],
)
def test_each_function_s_policy_allows_exactly_what_its_code_calls(
    functions: dict[str, harness.LambdaProcess],
    aws: dict[str, Any],
    operations: dict[str, set[Any]],
    conditions: dict[str, bool],
) -> None:
    # Given the operations each function made at init and in the replays above (run first, in this module)
    assert all(operations.values()), "the replays must run before this test"
    for process in functions.values():
        operations[process.function_id].update(tuple(op) for op in process.init["operations"])
    tables = {name: logical_id for logical_id, name in aws["resolve"].items() if logical_id.endswith("Table")}
    optional = {"kms:Decrypt": "HasSecretsKmsKey", "lex:RecognizeText": "HasLexBots"}
    template: Template = aws["template"]
    for function_id in FUNCTIONS.values():
        # When the operations are mapped to IAM actions (plus those on paths the replay does not drive)
        wanted = {
            grant
            for grant in iam.needed(function_id, operations[function_id], tables)
            if conditions.get(optional.get(grant[0], ""), True)
        }
        granted = iam.grants(template.resources()[function_id], conditions=conditions)

        # Then the policy holds each of them, and nothing else
        assert wanted - granted == set(), f"{function_id} lacks permissions"
        assert granted - wanted == set(), f"{function_id} has permissions its code never uses"


def test_every_operation_listed_as_not_replayed_is_made_by_the_code_it_names() -> None:
    for entry in iam.NOT_REPLAYED:
        path, text = entry.evidence
        assert text in (harness.ROOT / path).read_text(), entry
