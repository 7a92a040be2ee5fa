"""template.yaml: what must hold in AWS, and what the local emulator reads from it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import boto3
import pytest

from audiocodes_devtools.template import HttpRoute, Template, TemplateError, load_template

from .conftest import REPO_ROOT, route_matches

CONVERSATION = "f010e998-4499-4ddb-80d4-fea137fd7b4d"
# Every URL VAIC calls for one conversation, with the url_token "demo" (botURL = <api>/demo).
VAIC_PATHS = [
    "/demo",
    f"/demo/conversation/{CONVERSATION}/activities",
    f"/demo/conversation/{CONVERSATION}/refresh",
    f"/demo/conversation/{CONVERSATION}/disconnect",
]


# --- what must hold in AWS ----------------------------------------------------------------------

# What the emulator resolves the template's references to.
LOCAL = {
    "SessionsTable": "sessions",
    "AnalyticsTable": "analytics",
    "TurnQueue": "https://sqs.eu-central-1.amazonaws.com/123456789012/turns.fifo",
    "TurnQueue.QueueName": "turns.fifo",
    "CampaignQueue": "https://sqs.eu-central-1.amazonaws.com/123456789012/campaigns",
    "WebSocketApi": "local",
}


def test_sessions_expire_through_ttl_on_expires_at(template: Template) -> None:
    # Given the sessions table as declared
    table = template.resources("AWS::DynamoDB::Table")["SessionsTable"]["Properties"]

    # When DynamoDB applies its TTL setting
    ttl = table["TimeToLiveSpecification"]

    # Then expired conversations are removed by expires_at, and the table is protected
    assert ttl == {"AttributeName": "expires_at", "Enabled": True}
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert table["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert table["SSESpecification"]["SSEEnabled"] is True


def test_every_function_and_layer_runs_python312_on_arm64(template: Template) -> None:
    # Given every function and layer in the template
    functions = template.functions(resolve=LOCAL)
    layers = template.resources("AWS::Serverless::LayerVersion")

    # Then all of them target the one runtime and architecture the layer is built for
    assert functions, "the template declares no functions"
    assert {spec.runtime for spec in functions.values()} == {"python3.12"}
    assert template.body["Globals"]["Function"]["Architectures"] == ["arm64"]
    for logical_id, layer in layers.items():
        assert layer["Properties"]["CompatibleRuntimes"] == ["python3.12"], logical_id
    runtime_layer = layers["RuntimeLayer"]["Metadata"]
    assert runtime_layer == {"BuildMethod": "python3.12", "BuildArchitecture": "arm64"}


def test_http_api_routes_every_vaic_url_to_the_bot_api(template: Template) -> None:
    # Given the HTTP API routes
    routes = template.http_routes()

    # When VAIC calls each URL of a conversation (GET probe, then POSTs)
    requests = [("GET", "/demo")] + [("POST", path) for path in VAIC_PATHS]

    # Then each one reaches the Bot API function on the declared HTTP API
    for method, path in requests:
        matches = [route for route in routes if route_matches(route, method, path)]
        assert [(r.function_logical_id, r.api_logical_id) for r in matches] == [("BotApiFunction", "HttpApi")], (
            method,
            path,
        )
    assert HttpRoute("ANY", "/", "BotApiFunction", "HttpApi") in routes  # the bare API URL, too


def test_inject_and_notify_routes_include_the_paths_cognigys_client_uses(template: Template) -> None:
    # Given the HTTP API routes and their throttling
    routes = template.http_routes()
    settings = template.resources("AWS::Serverless::HttpApi")["HttpApi"]["Properties"]["RouteSettings"]

    # When Cognigy's documented paths and those of its REST client (@cognigy/rest-api-client) are posted
    for path in (
        "/v2.0/endpoint/inject",
        "/v2.0/endpoint/notify",
        "/new/v2.0/endpoint/inject",
        "/new/v2.0/endpoint/notify",
    ):
        literal = [route for route in routes if route.path == path and route_matches(route, "POST", path)]
        # Then a literal route (API Gateway prefers it to the Bot API's greedy one) reaches Inject & Notify,
        # under the tighter limit
        assert [route.function_logical_id for route in literal] == ["InjectNotifyFunction"], path
        assert settings[f"POST {path}"] == {"ThrottlingBurstLimit": 20, "ThrottlingRateLimit": 10}


def test_http_api_is_throttled_on_the_default_stage(template: Template) -> None:
    # Given the HTTP API
    api = template.resources("AWS::Serverless::HttpApi")["HttpApi"]["Properties"]

    # Then it has no stage prefix (the bot URL is <api>/<url_token>) and caps the request rate
    assert api["StageName"] == "$default"
    assert api["DefaultRouteSettings"] == {"ThrottlingBurstLimit": 200, "ThrottlingRateLimit": 100}


def test_functions_know_the_sessions_table_and_the_agent(template: Template) -> None:
    # Given the Bot API function as deployed
    spec = template.function("BotApiFunction", resolve={**LOCAL, "SessionsTable": "audiocodes-sessions"})

    # Then its environment names the table and the agent directory, and never logs whole events
    assert spec.environment["SESSIONS_TABLE"] == "audiocodes-sessions"
    assert spec.environment["AGENT_DIR"] == "/opt/agent"
    assert spec.environment["POWERTOOLS_LOGGER_LOG_EVENT"] == "false"
    assert spec.environment["POWERTOOLS_SERVICE_NAME"] == "audiocodes-endpoint"


def test_functions_read_secrets_only_under_their_prefix(template: Template) -> None:
    # Given the functions' policy statements, by Sid
    functions = template.resources("AWS::Serverless::Function")
    for function_id in ("BotApiFunction", "WebSocketFunction", "InjectNotifyFunction"):
        statements = {
            s["Sid"]: s for s in functions[function_id]["Properties"]["Policies"][0]["Statement"] if "Sid" in s
        }

        # Then SSM and Secrets Manager are reached only below audiocodes-endpoint/, one action each
        assert statements["Secrets"]["Action"] == "ssm:GetParameter"
        assert statements["Secrets"]["Resource"]["Fn::Sub"].endswith(":parameter/audiocodes-endpoint/*")
        assert statements["SecretsManager"]["Action"] == "secretsmanager:GetSecretValue"
        assert statements["SecretsManager"]["Resource"]["Fn::Sub"].endswith(":secret:audiocodes-endpoint/*")
    # and the dispatcher, which checks no token, reads no secret at all
    dispatcher = functions["DispatcherFunction"]["Properties"]["Policies"][0]["Statement"]
    assert not [s for s in dispatcher if "Sid" in s and s["Sid"].startswith("Secret")]


def test_the_customer_managed_key_is_usable_only_through_ssm_and_secrets_manager(template: Template) -> None:
    # Given the Bot API's conditional KMS statement
    statements = template.resources("AWS::Serverless::Function")["BotApiFunction"]["Properties"]["Policies"][0]
    (conditional,) = [
        s["Fn::If"] for s in statements["Statement"] if "Fn::If" in s and s["Fn::If"][0] == "HasSecretsKmsKey"
    ]
    _, key, otherwise = conditional

    # Then with SecretsKmsKeyArn set it may decrypt with that key, via those two services only; else nothing
    assert key["Action"] == "kms:Decrypt" and key["Resource"] == {"Ref": "SecretsKmsKeyArn"}
    services = key["Condition"]["StringEquals"]["kms:ViaService"]
    assert [s["Fn::Sub"].split(".")[0] for s in services] == ["ssm", "secretsmanager"]
    assert otherwise == {"Ref": "AWS::NoValue"}


def test_outputs_give_the_bot_url_base_and_the_table(template: Template) -> None:
    # Given the stack outputs
    outputs = template.body["Outputs"]

    # Then operators can find the URL to configure in VAIC and the table to inspect
    assert outputs["BotApiBaseUrl"]["Value"] == {
        "Fn::Sub": "https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}"
    }
    assert outputs["SessionsTableName"]["Value"] == {"Ref": "SessionsTable"}


# --- what the emulator reads --------------------------------------------------------------------


def test_reader_gives_the_emulator_an_importable_handler_and_its_layers(template: Template) -> None:
    # Given the template as the emulator loads it
    spec = template.function("BotApiFunction", resolve={**LOCAL, "SessionsTable": "sessions-local"})
    layers = template.layers()

    # Then it knows where the handler lives and what to put on sys.path or treat as /opt
    assert spec.code_uri == REPO_ROOT / "functions" / "bot_api"
    assert (spec.handler_module, spec.handler_name) == ("app", "lambda_handler")
    assert (spec.timeout, spec.memory_size) == (10, 512)
    assert spec.layers == ("RuntimeLayer", "AgentLayer")
    assert layers["RuntimeLayer"].content_uri == REPO_ROOT / "layers" / "runtime"
    assert layers["RuntimeLayer"].is_python_package
    assert layers["AgentLayer"].content_uri == REPO_ROOT / "agent"
    assert not layers["AgentLayer"].is_python_package


def test_reader_resolves_refs_and_applies_parameter_defaults_and_overrides() -> None:
    # Given the template loaded without and with a LogLevel override
    default = load_template(REPO_ROOT / "template.yaml")
    debug = load_template(REPO_ROOT / "template.yaml", parameters={"LogLevel": "DEBUG"})

    # When the emulator asks for the function's environment
    resolve = {**LOCAL, "SessionsTable": "sessions-local"}
    default_env = default.function("BotApiFunction", resolve=resolve).environment
    debug_env = debug.function("BotApiFunction", resolve=resolve).environment

    # Then !Ref resolves through the mapping, and parameters through default or override
    assert default_env["SESSIONS_TABLE"] == "sessions-local"
    assert default_env["POWERTOOLS_LOG_LEVEL"] == "INFO"
    assert debug_env["POWERTOOLS_LOG_LEVEL"] == "DEBUG"


def test_reader_refuses_to_guess_an_unresolved_ref(template: Template) -> None:
    # Given no local name for the sessions table
    # When the emulator asks for the function
    # Then the error says which reference needs a value
    with pytest.raises(TemplateError, match="SessionsTable"):
        template.function("BotApiFunction")


def test_reader_table_spec_creates_a_working_table_on_moto(template: Template, aws: None) -> None:
    # Given the sessions table spec from the template
    table = template.dynamodb_tables()["SessionsTable"]
    assert table.ttl_attribute == "expires_at"

    client = boto3.client("dynamodb")

    # When the emulator creates it as the template says
    client.create_table(**table.create_table_kwargs("sessions-local"))
    client.update_time_to_live(
        TableName="sessions-local",
        TimeToLiveSpecification={"AttributeName": table.ttl_attribute, "Enabled": True},
    )

    # Then the table takes a session keyed by id and has TTL on expires_at
    client.put_item(TableName="sessions-local", Item={"id": {"S": CONVERSATION}, "expires_at": {"N": "1"}})
    item = client.get_item(TableName="sessions-local", Key={"id": {"S": CONVERSATION}})["Item"]
    ttl = client.describe_time_to_live(TableName="sessions-local")["TimeToLiveDescription"]
    billing = client.describe_table(TableName="sessions-local")["Table"]["BillingModeSummary"]
    assert item["id"] == {"S": CONVERSATION}
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expires_at"}
    assert billing["BillingMode"] == "PAY_PER_REQUEST"


def test_async_mode_has_a_fifo_turn_queue_with_dead_letters_and_a_generous_visibility(template: Template) -> None:
    # Given the queues and the dispatcher's event source
    queues = {queue.logical_id: queue for queue in template.sqs_queues()}
    dispatcher = template.function("DispatcherFunction", resolve=LOCAL)
    (source,) = [s for s in template.sqs_event_sources() if s.queue_logical_id == "TurnQueue"]
    turns = queues["TurnQueue"]
    # Then turns are FIFO, dead-lettered after a bounded number of tries, and not redelivered while running
    assert turns.fifo and queues["TurnDeadLetterQueue"].fifo
    assert turns.dead_letter_queue == "TurnDeadLetterQueue" and turns.max_receive_count == 5
    assert turns.visibility_timeout >= 6 * dispatcher.timeout
    assert (source.function_logical_id, source.queue_logical_id) == ("DispatcherFunction", "TurnQueue")
    assert source.reports_batch_item_failures


def test_async_mode_has_an_alarm_on_the_dead_letter_queue(template: Template) -> None:
    alarms = template.resources("AWS::CloudWatch::Alarm")
    dimensions = [alarm["Properties"]["Dimensions"][0]["Value"] for alarm in alarms.values()]
    assert {"Fn::GetAtt": ["TurnDeadLetterQueue", "QueueName"]} in dimensions


def test_campaigns_have_a_standard_pacing_queue_with_dead_letters_polled_by_the_outbound_function(
    template: Template,
) -> None:
    # Given the campaign queue and its event source
    queues = {queue.logical_id: queue for queue in template.sqs_queues()}
    outbound = template.function("OutboundFunction", resolve=LOCAL)
    (source,) = [s for s in template.sqs_event_sources() if s.queue_logical_id == "CampaignQueue"]
    campaigns = queues["CampaignQueue"]
    # Then it is a standard queue (per-message DelaySeconds), dead-lettered, not redelivered while running
    assert not campaigns.fifo and campaigns.dead_letter_queue == "CampaignDeadLetterQueue"
    assert campaigns.visibility_timeout >= 6 * outbound.timeout
    assert source.function_logical_id == "OutboundFunction" and source.reports_batch_item_failures
    assert outbound.environment["CAMPAIGN_QUEUE_URL"] == LOCAL["CampaignQueue"]
    alarms = template.resources("AWS::CloudWatch::Alarm")
    dimensions = [alarm["Properties"]["Dimensions"][0]["Value"] for alarm in alarms.values()]
    assert {"Fn::GetAtt": ["CampaignDeadLetterQueue", "QueueName"]} in dimensions


def test_async_mode_routes_websocket_connect_and_disconnect_to_the_websocket_function(template: Template) -> None:
    routes = {route.route_key: route.function_logical_id for route in template.websocket_routes()}
    assert routes["$connect"] == routes["$disconnect"] == "WebSocketFunction"


def test_functions_know_where_async_mode_lives(template: Template) -> None:
    env = template.function("BotApiFunction", resolve=LOCAL).environment
    assert env["TURN_QUEUE_URL"] == LOCAL["TurnQueue"]
    assert env["WEBSOCKET_URL"].startswith("wss://") and env["CONNECTIONS_URL"].startswith("https://")


# --- the reader on the shapes later issues will add ---------------------------------------------

ASYNC_FRAGMENT = """
Parameters:
  FunctionTimeout: {Type: Number, Default: 10}
Globals:
  Function:
    Runtime: python3.12
    Timeout: !Ref FunctionTimeout
    Layers: [!Ref RuntimeLayer]
    Environment:
      Variables:
        QUEUE_URL: !Ref TurnQueue
        TABLE_ARN: !GetAtt SessionsTable.Arn
Resources:
  RuntimeLayer:
    Type: AWS::Serverless::LayerVersion
    Properties: {ContentUri: layers/runtime/}
    Metadata: {BuildMethod: python3.12}
  TurnDeadLetterQueue:
    Type: AWS::SQS::Queue
    Properties: {FifoQueue: true, MessageRetentionPeriod: 1209600}
  TurnQueue:
    Type: AWS::SQS::Queue
    Properties:
      FifoQueue: true
      ContentBasedDeduplication: false
      VisibilityTimeout: 60
      RedrivePolicy:
        deadLetterTargetArn: !GetAtt TurnDeadLetterQueue.Arn
        maxReceiveCount: 3
  Dispatcher:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/dispatcher/
      Handler: app.lambda_handler
      Environment:
        Variables:
          WEBSOCKET_ENDPOINT: !Sub "https://${WebSocketApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/live"
          LITERAL: !Sub "${!NotAReference}"
          DEBUG: true
      Layers: [arn:aws:lambda:eu-central-1:017000801446:layer:AWSLambdaPowertoolsPythonV3-python312-arm64:7]
      Events:
        Turns:
          Type: SQS
          Properties:
            Queue: !GetAtt TurnQueue.Arn
            BatchSize: 1
            FunctionResponseTypes: [ReportBatchItemFailures]
  WebSocketFunction:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: functions/websocket/, Handler: app.lambda_handler}
  WebSocketApi:
    Type: AWS::ApiGatewayV2::Api
    Properties: {Name: ws, ProtocolType: WEBSOCKET, RouteSelectionExpression: $request.body.action}
  WebSocketIntegration:
    Type: AWS::ApiGatewayV2::Integration
    Properties:
      ApiId: !Ref WebSocketApi
      IntegrationType: AWS_PROXY
      IntegrationUri: !Join
        - ""
        - - !Sub arn:aws:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/
          - !GetAtt WebSocketFunction.Arn
          - /invocations
  ConnectRoute:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref WebSocketApi
      RouteKey: $connect
      Target: !Sub integrations/${WebSocketIntegration}
  DisconnectRoute:
    Type: AWS::ApiGatewayV2::Route
    Properties:
      ApiId: !Ref WebSocketApi
      RouteKey: $disconnect
      Target: !Join [/, [integrations, !Ref WebSocketIntegration]]
"""


@pytest.fixture
def async_template(tmp_path: Path) -> Template:
    path = tmp_path / "template.yaml"
    path.write_text(ASYNC_FRAGMENT, encoding="utf-8")
    return load_template(path)


def test_reader_merges_globals_and_resolves_sub_getatt_and_escapes(async_template: Template) -> None:
    # Given a function whose environment mixes Globals with its own Sub, GetAtt and literals
    resolve = {
        "TurnQueue": "http://localhost:5000/123456789012/turns.fifo",
        "SessionsTable.Arn": "arn:aws:dynamodb:eu-central-1:123456789012:table/sessions",
        "WebSocketApi": "ws-local",
        "AWS::Region": "eu-central-1",
    }

    # When the emulator asks for it
    spec = async_template.function("Dispatcher", resolve=resolve)

    # Then maps merged, lists concatenated (Globals first), scalars rendered as CloudFormation does
    assert spec.environment == {
        "QUEUE_URL": "http://localhost:5000/123456789012/turns.fifo",
        "TABLE_ARN": "arn:aws:dynamodb:eu-central-1:123456789012:table/sessions",
        "WEBSOCKET_ENDPOINT": "https://ws-local.execute-api.eu-central-1.amazonaws.com/live",
        "LITERAL": "${NotAReference}",
        "DEBUG": "true",
    }
    assert spec.timeout == 10  # !Ref of a parameter default
    assert spec.layers[0] == "RuntimeLayer"
    assert spec.layers[1].startswith("arn:aws:lambda:")


def test_reader_lists_fifo_queues_dead_letter_first_and_their_event_sources(async_template: Template) -> None:
    # Given a FIFO queue redriving to a FIFO DLQ, polled by the dispatcher
    # When the emulator reads queues and event sources
    queues = async_template.sqs_queues()
    (source,) = async_template.sqs_event_sources()

    # Then the DLQ comes first (create it first), and the redrive and polling settings are kept
    assert [queue.logical_id for queue in queues] == ["TurnDeadLetterQueue", "TurnQueue"]
    turn_queue = queues[1]
    assert (turn_queue.fifo, turn_queue.content_based_deduplication) == (True, False)
    assert (turn_queue.visibility_timeout, turn_queue.dead_letter_queue) == (60, "TurnDeadLetterQueue")
    assert turn_queue.max_receive_count == 3
    assert (source.function_logical_id, source.queue_logical_id, source.batch_size) == (
        "Dispatcher",
        "TurnQueue",
        1,
    )
    assert source.reports_batch_item_failures


def test_reader_queue_specs_create_working_queues_on_moto(async_template: Template, aws: None) -> None:
    # Given the queue specs, dead-letter queue first
    dead_letter, turns = async_template.sqs_queues()

    sqs = boto3.client("sqs")

    # When the emulator creates them in that order
    dlq_url = sqs.create_queue(**dead_letter.create_queue_kwargs("turns-dlq"))["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]
    queue_url = sqs.create_queue(**turns.create_queue_kwargs("turns", dlq_arn["QueueArn"]))["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]

    # Then both are FIFO (names suffixed) and the queue redrives to the DLQ after 3 receives
    assert dlq_url.endswith("/turns-dlq.fifo") and queue_url.endswith("/turns.fifo")
    assert attributes["FifoQueue"] == "true"
    assert attributes["VisibilityTimeout"] == "60"
    assert json.loads(attributes["RedrivePolicy"]) == {
        "deadLetterTargetArn": dlq_arn["QueueArn"],
        "maxReceiveCount": 3,
    }


def test_reader_follows_websocket_routes_to_their_function(async_template: Template) -> None:
    # Given $connect and $disconnect routes targeting one Lambda integration (Sub and Join forms)
    # When the emulator reads WebSocket routes
    routes = async_template.websocket_routes()

    # Then each route key maps to the function behind the integration
    assert [(r.route_key, r.function_logical_id, r.api_logical_id) for r in routes] == [
        ("$connect", "WebSocketFunction", "WebSocketApi"),
        ("$disconnect", "WebSocketFunction", "WebSocketApi"),
    ]


def test_reader_evaluates_conditions_and_refuses_intrinsics_it_cannot_resolve_locally(tmp_path: Path) -> None:
    # Given environment values chosen by conditions, and one imported from another stack
    path = tmp_path / "template.yaml"
    body = """
Parameters:
  Tier: {Type: String, Default: small}
Conditions:
  IsProd: !Equals [!Ref AWS::StackName, prod]
  IsSmall: !And [!Not [!Condition IsProd], !Equals [!Ref Tier, small]]
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: src/
      Handler: app.handler
      Runtime: python3.12
      Environment:
        Variables:
          MODE: !If [IsProd, prod, dev]
          SIZE: !If [IsSmall, "128", "1024"]
          ONLY_IN_PROD: !If [IsProd, "yes", !Ref AWS::NoValue]
"""
    path.write_text(body, encoding="utf-8")

    # When the emulator asks for the function, Then conditions are evaluated with parameter defaults
    assert load_template(path).function("Fn").environment == {"MODE": "dev", "SIZE": "128"}

    # And an intrinsic it cannot answer locally is named instead of guessed
    path.write_text(body.replace("!If [IsProd, prod, dev]", "!ImportValue shared-mode"), encoding="utf-8")
    with pytest.raises(TemplateError, match="Fn::ImportValue"):
        load_template(path).function("Fn")


# --- the SAM CLI --------------------------------------------------------------------------------


@pytest.mark.sam
@pytest.mark.timeout(900)  # the first run creates .venv-sam
@pytest.mark.skipif(os.environ.get("SKIP_SAM") == "1", reason="SKIP_SAM=1")
@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_sam_validate_lint_passes() -> None:
    # Given the template and fake credentials (validate --lint works offline)
    env = {
        **os.environ,
        "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "eu-central-1"),
        "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
        "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"),
        "SAM_CLI_TELEMETRY": "0",
    }

    # When SAM translates and lints it
    result = subprocess.run(
        ["bash", str(REPO_ROOT / "tools" / "sam.sh"), "validate", "--lint"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )

    # Then it is a valid SAM template without lint findings
    assert result.returncode == 0, result.stdout + result.stderr
    assert "is a valid SAM Template" in result.stdout + result.stderr


def test_deployed_demo_endpoints_reach_no_private_network_and_no_default_accounts_api(
    template: Template, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the environment a deployed function gets with the template's defaults (no emulator variables)
    environment = template.function("BotApiFunction", resolve={**LOCAL, "SessionsTable": "s"}).environment
    monkeypatch.delenv("LOCAL_ALLOW_PRIVATE_NETWORK", raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)

    # When the shipped agent's endpoints are loaded
    from audiocodes_endpoint.config.endpoint import load_endpoints

    endpoints = load_endpoints(REPO_ROOT / "agent")

    # Then no endpoint lets its flows reach loopback or private addresses, and the demo has no accounts API
    assert environment["ACCOUNTS_API_URL"] == ""
    assert [e.url_token for e in endpoints.values() if e.limits.allow_private_network] == []
    assert {e.variables.get("accounts_api_url") for e in endpoints.values()} == {""}

    # And under `make run` (the emulator sets the variable and the parameter) the demo reaches its stub
    monkeypatch.setenv("LOCAL_ALLOW_PRIVATE_NETWORK", "true")
    monkeypatch.setenv("ACCOUNTS_API_URL", "http://127.0.0.1:3001")
    local = load_endpoints(REPO_ROOT / "agent")
    assert all(e.limits.allow_private_network for e in local.values())
    assert {e.variables["accounts_api_url"] for e in local.values()} == {"http://127.0.0.1:3001"}


def test_functions_deploy_gradually_behind_the_live_alias_rolled_back_by_their_own_alarm(template: Template) -> None:
    # Given the template's functions
    globals_ = template.body["Globals"]["Function"]
    functions = template.resources("AWS::Serverless::Function")

    # Then each is published behind `live` and shifted by CodeDeploy, watched by its own errors alarm
    assert globals_["AutoPublishAlias"] == "live"
    assert globals_["SnapStart"] == {"ApplyOn": {"Fn::If": ["SnapStartOn", "PublishedVersions", "None"]}}
    alarms = template.resources("AWS::CloudWatch::Alarm")
    for function_id, function in functions.items():
        preference = function["Properties"]["DeploymentPreference"]
        assert preference["Type"] == {"Ref": "DeploymentType"}
        (alarm,) = [ref["Ref"] for ref in preference["Alarms"]]
        dimensions = {d["Name"]: d["Value"] for d in alarms[alarm]["Properties"]["Dimensions"]}
        assert dimensions["FunctionName"] == {"Ref": function_id}
        assert dimensions["Resource"] == {"Fn::Sub": f"${{{function_id}}}:live"}
    # and the WebSocket API (not a SAM event) invokes the alias too
    integration = template.resources("AWS::ApiGatewayV2::Integration")["WebSocketIntegration"]["Properties"]
    assert {"Ref": "WebSocketFunction.Alias"} in integration["IntegrationUri"]["Fn::Join"][1]
    permission = template.resources("AWS::Lambda::Permission")["WebSocketInvokePermission"]["Properties"]
    assert permission["FunctionName"] == {"Ref": "WebSocketFunction.Alias"}


def test_the_dashboard_shows_only_metrics_the_code_emits(template: Template) -> None:
    # Given the dashboard's own metrics (namespace AudioCodesEndpoint) and the code's count()/measure() calls
    import re

    body, _ = template.resources("AWS::CloudWatch::Dashboard")["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    shown = set(re.findall(r'\["\$\{Namespace\}", "(\w+)"', body)) | set(re.findall(r'\[\s*"\.", "(\w+)"', body))
    package = REPO_ROOT / "layers" / "runtime" / "audiocodes_endpoint"
    source = "\n".join(path.read_text() for path in package.rglob("*.py"))
    emitted = {
        name
        for line in source.splitlines()
        if re.search(r"\b(count|measure|add_metric)\(", line)
        for name in re.findall(r'"(\w+)"', line)
    }

    # Then calls, turns, latency, flow errors and push failures are on it, each one emitted by the code
    assert {"Calls", "Turns", "TurnLatency", "FlowErrors", "PushFailures"} <= shown
    assert shown - emitted == set()
    # and the dead-letter queue's depth
    assert '"ApproximateNumberOfMessagesVisible", "QueueName", "${DeadLetters}"' in body


# --- what SAM's translator brings: shapes the deploy side adds --------------------------------

DEPLOY_FRAGMENT = """
Transform: AWS::Serverless-2016-10-31
Parameters:
  Stage: {Type: String, Default: live}
  AgentDir: {Type: String, Default: /opt/agent}
  AlertEmail: {Type: String}
  Tier: {Type: String, AllowedValues: [small, large]}
Globals:
  Function:
    Runtime: python3.12
    Timeout: 10
    MemorySize: 512
    AutoPublishAlias: !Ref Stage
    SnapStart: {ApplyOn: PublishedVersions}
    Environment:
      Variables:
        AGENT_DIR: !Ref AgentDir
        TIER: !Ref Tier
Resources:
  Queue:
    Type: AWS::SQS::Queue
    Properties: {FifoQueue: true}
  Api:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/api/
      Handler: app.lambda_handler
      ReservedConcurrentExecutions: 7
      DeploymentPreference: {Type: AllAtOnce}
      Events:
        Root: {Type: HttpApi, Properties: {Path: /, Method: GET}}
        Anything: {Type: HttpApi}
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: functions/worker/
      Handler: worker.handle
      Events:
        Jobs: {Type: SQS, Properties: {Queue: !GetAtt Queue.Arn, BatchSize: 5}}
  Dashboard:
    Type: AWS::CloudWatch::Dashboard
    Properties: {DashboardBody: !Sub '{"widgets": [], "region": "${AWS::Region}"}'}
"""


def test_reader_follows_aliases_deployments_and_implicit_apis_as_sam_translates_them(tmp_path: Path) -> None:
    # Given functions published behind an alias, deployed with CodeDeploy, on SAM's implicit HTTP API
    path = tmp_path / "template.yaml"
    path.write_text(DEPLOY_FRAGMENT, encoding="utf-8")

    # When the emulator reads the template
    template = load_template(path)
    routes = {(route.method, route.path): route.function_logical_id for route in template.http_routes()}
    (source,) = template.sqs_event_sources()
    api = template.function("Api")

    # Then routes and the event source reach the functions behind their aliases, with Globals merged
    assert routes == {("GET", "/"): "Api", ("ANY", "$default"): "Api"}
    assert (source.function_logical_id, source.queue_logical_id, source.batch_size) == ("Worker", "Queue", 5)
    assert (api.timeout, api.memory_size, api.reserved_concurrency) == (10, 512, 7)
    # parameters without a default (asked by `sam deploy --guided`) get a local stand-in
    assert api.environment == {"AGENT_DIR": "/opt/agent", "TIER": "small"}
    assert api.code_uri == tmp_path / "functions" / "api"
    assert (template.function("Worker").handler_module, template.function("Worker").handler_name) == (
        "worker",
        "handle",
    )


def test_reader_reports_what_sam_itself_refuses(tmp_path: Path) -> None:
    path = tmp_path / "template.yaml"
    path.write_text("Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties: {CodeUri: src/}\n")
    with pytest.raises(TemplateError, match="SAM cannot translate"):
        load_template(path)
