"""Outbound campaigns through the real handler on moto (DynamoDB, SQS, EventBridge) and the VAIC stand-in.

The pacing queue is driven by the emulator's own SQS poller (``SqsPoller.poll_once``) invoking the
handler, as Lambda's event source mapping does; VAIC's status callbacks are delivered to the handler
as API Gateway would (the stand-in's notifyUrl host is API Gateway's, not reachable here).
"""

from __future__ import annotations

import csv
import datetime
import importlib
import io
import json
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest

from audiocodes_devtools.dialout_standin import Callee, DialoutStandIn
from audiocodes_devtools.events import http_event
from audiocodes_devtools.sqs_poller import SqsPoller
from tests.conftest import ROOT
from tests.integration.conftest import FakeLambdaContext

KEY = "campaign-key"
ENDPOINT = """
name: Campaign test
url_token: calls
flow: main
bot_token: ssm:/audiocodes-endpoint/calls/bot-token
default_region: DE
dialout:
  api_key: ssm:/audiocodes-endpoint/calls/dialout-api-key
  api_url: {url}
  token_url: {url}/oauth/token
  client_id: ssm:/audiocodes-endpoint/calls/dialout-client-id
  client_secret: ssm:/audiocodes-endpoint/calls/dialout-client-secret
  bot: calls-bot
  caller: "+4930123456789"
  machine_detection: true
  destinations:
    country_codes: [49, 1, 7]
    do_not_call: ["+4930111111111"]
"""
PERSON, BUSY_THEN_ANSWER, MACHINE, NO_ANSWER = "+493012340001", "+493012340002", "+493012340003", "+493012340004"
NEW_YORK = "+12127365000"
# Wednesday 2 December 2026, 12:00 UTC: 13:00 in Berlin (inside 09:00-20:00), 07:00 in New York (outside).
NOON_UTC = datetime.datetime(2026, 12, 2, 12, 0, tzinfo=datetime.UTC).timestamp()


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def standin() -> Iterator[DialoutStandIn]:
    callees = {
        BUSY_THEN_ANSWER: Callee.scripted(["busy", "answer"]),
        MACHINE: Callee("machine"),
        NO_ANSWER: Callee("no-answer"),
    }
    server = DialoutStandIn(lambda name: ("http://127.0.0.1:9/unused", None) if name == "calls-bot" else None,
                            callees, pause_seconds=0.0, play_bot=False)  # fmt: skip
    server.start()
    yield server
    server.stop()


@pytest.fixture
def queue(aws: None) -> str:
    return boto3.client("sqs").create_queue(QueueName="campaigns")["QueueUrl"]


@pytest.fixture
def clock() -> Clock:
    return Clock(NOON_UTC)


@pytest.fixture
def app(sessions_table: str, queue: str, standin: DialoutStandIn, clock: Clock, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:  # fmt: skip
    from aws_lambda_powertools.utilities import parameters

    from audiocodes_endpoint.features.outbound import vaic
    from audiocodes_endpoint.wiring import runtime

    agent = shutil.copytree(ROOT / "agent", tmp_path / "agent")
    (agent / "endpoints" / "calls.yaml").write_text(ENDPOINT.format(url=standin.url))
    monkeypatch.setenv("SESSIONS_TABLE", sessions_table)
    monkeypatch.setenv("AGENT_DIR", str(agent))
    monkeypatch.setenv("CAMPAIGN_QUEUE_URL", queue)
    ssm = boto3.client("ssm")
    for name, value in {"bot-token": "t", "dialout-api-key": KEY, "dialout-client-id": standin.client_id,
                        "dialout-client-secret": standin.client_secret}.items():  # fmt: skip
        ssm.put_parameter(Name=f"/audiocodes-endpoint/calls/{name}", Value=value, Type="SecureString", Overwrite=True)
    parameters.clear_caches()
    runtime.cache_clear()
    vaic.reset()
    module = importlib.import_module("functions.outbound.app")
    module.outbound.cache_clear()
    module.campaigns().clock = clock
    yield module
    module.outbound.cache_clear()
    runtime.cache_clear()
    parameters.clear_caches()
    vaic.reset()


# --- helpers -----------------------------------------------------------------------------------------


def send(app: Any, method: str, path: str, body: Any = None, *, key: str | None = KEY, raw: bytes | None = None,
         headers: dict[str, str] | None = None) -> tuple[int, Any]:  # fmt: skip
    url = urlsplit(path)
    all_headers = {"content-type": "application/json", "Host": "api.example.com", "x-forwarded-proto": "https",
                   **({"x-api-key": key} if key else {}), **(headers or {})}  # fmt: skip
    data = raw if raw is not None else json.dumps(body).encode() if body is not None else b""
    event = http_event(method, url.path, query=url.query, headers=all_headers, body=data)
    result = app.lambda_handler(event, FakeLambdaContext())
    content_type = result.get("headers", {}).get("Content-Type", "")
    return result["statusCode"], result["body"] if content_type.startswith("text/csv") else json.loads(result["body"])


def create(app: Any, targets: list[dict[str, Any]], **settings: Any) -> dict[str, Any]:
    body = {"name": "reminders", "targets": targets, "pacing": {"calls_per_second": 50, "max_concurrent": 10},
            "retry": {"on": ["busy", "no_answer"], "max_attempts": 2, "backoff_seconds": 0}, **settings}  # fmt: skip
    status, answer = send(app, "POST", "/outbound/calls/campaigns", body)
    assert status == 202, answer
    return dict(answer)


def progress(app: Any, campaign: str) -> dict[str, Any]:
    status, answer = send(app, "GET", f"/outbound/calls/campaigns/{campaign}")
    assert status == 200, answer
    return dict(answer)


def results(app: Any, campaign: str) -> list[dict[str, str]]:
    status, text = send(app, "GET", f"/outbound/calls/campaigns/{campaign}/results")
    assert status == 200, text
    return list(csv.DictReader(io.StringIO(text)))


def poller(app: Any, queue: str) -> SqsPoller:
    return SqsPoller(queue_url=queue, queue_arn="arn:aws:sqs:us-east-1:123456789012:campaigns", batch_size=10,
                     reports_failures=True, invoke=lambda event: app.lambda_handler(event, FakeLambdaContext()),
                     region="us-east-1")  # fmt: skip


def queued(queue: str, *, delayed: bool = True) -> int:
    attributes = boto3.client("sqs").get_queue_attributes(QueueUrl=queue, AttributeNames=["All"])["Attributes"]
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    return sum(int(attributes[name]) for name in names + ["ApproximateNumberOfMessagesDelayed"] * delayed)


def deliver(app: Any, standin: DialoutStandIn, delivered: set[str]) -> int:
    """Every finished stand-in call's statuses, to the handler; how many calls were delivered now."""
    count = 0
    for placed in list(standin.calls):
        if placed.conversation_id in delivered:
            continue
        assert placed.done.wait(10)
        notify = placed.request["notifyUrl"][len("https://api.example.com") :]
        for body in placed.callbacks:
            assert send(app, "POST", notify, body, key=None)[0] == 200
        delivered.add(placed.conversation_id)
        count += 1
    return count


def run_campaign(app: Any, queue: str, standin: DialoutStandIn, deadline_seconds: float = 30,
                 *, delayed: bool = True) -> None:  # fmt: skip
    """Poll the queue and deliver callbacks until neither has anything left (or the deadline passes);
    ``delayed=False``: messages delayed for later (a window's opening) do not count."""
    client, sqs, delivered = boto3.client("sqs"), poller(app, queue), set[str]()
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        moved = sqs.poll_once(client, wait_seconds=1) + deliver(app, standin, delivered)
        if (
            not moved
            and queued(queue, delayed=delayed) == 0
            and all(p.conversation_id in delivered for p in standin.calls)
        ):
            return
    raise AssertionError("the campaign did not settle")


def dialled(standin: DialoutStandIn) -> list[str]:
    return [str(p.request["target"]).removeprefix("tel:") for p in standin.calls]


# --- a campaign from start to end ------------------------------------------------------------------


def test_a_campaign_dials_each_target_retries_busy_and_no_answer_and_exports_its_results(app, queue, standin):
    targets = [
        {"target": PERSON, "metadata": {"customer": "C-1"}},
        {"target": "030 12340002", "metadata": {"customer": "C-2"}},  # national form: BUSY_THEN_ANSWER
        {"target": MACHINE, "metadata": {"customer": "C-3"}},
        {"target": NO_ANSWER, "metadata": {"customer": '=HYPERLINK("http://x")'}},
        {"target": "+4930111111111", "metadata": {"customer": "C-5"}},  # do-not-call
        {"target": "+33123456789", "metadata": {"customer": "C-6"}},  # France: not allowed
    ]
    campaign = create(app, targets)
    assert campaign["state"] == "running"
    assert campaign["progress"] | {} == campaign["progress"] and campaign["progress"]["total"] == 6
    assert (campaign["progress"]["pending"], campaign["progress"]["refused"]) == (4, 2)

    run_campaign(app, queue, standin)

    # Each dialable target was called; busy and no-answer were tried again (max_attempts 2), nobody else
    assert sorted(dialled(standin)) == sorted([PERSON, BUSY_THEN_ANSWER, BUSY_THEN_ANSWER, MACHINE,
                                               NO_ANSWER, NO_ANSWER])  # fmt: skip
    final = progress(app, campaign["id"])
    assert final["state"] == "completed"
    assert final["progress"] == {
        "total": 6, "pending": 0, "dialling": 0, "completed": 4, "answered": 2, "machine": 1, "busy": 0,
        "noAnswer": 1, "failed": 0, "deferred": 0, "refused": 2, "cancelled": 0, "attempts": 6, "retries": 2,
    }  # fmt: skip
    rows = {row["number"]: row for row in results(app, campaign["id"])}
    assert set(rows) == {PERSON, BUSY_THEN_ANSWER, MACHINE, NO_ANSWER, "+4930111111111", "+33123456789"}
    assert (rows[PERSON]["outcome"], rows[PERSON]["attempts"], rows[PERSON]["customer"]) == ("answered", "1", "C-1")
    assert rows[BUSY_THEN_ANSWER]["attempt_outcomes"] == "busy;answered"
    assert rows[MACHINE]["outcome"] == "machine"
    assert (rows[NO_ANSWER]["outcome"], rows[NO_ANSWER]["attempt_outcomes"]) == ("no_answer", "no_answer;no_answer")
    assert rows[NO_ANSWER]["customer"].startswith("'=")  # a formula is text in a spreadsheet
    assert (rows["+4930111111111"]["outcome"], rows["+4930111111111"]["reason"]) == ("refused", "do_not_call")
    assert rows["+33123456789"]["reason"] == "destination_not_allowed"
    assert float(rows[PERSON]["duration_seconds"]) >= 0


def test_each_call_carries_the_target_s_metadata_to_vaic(app, queue, standin):
    campaign = create(app, [{"target": PERSON, "metadata": {"customer": "C-1", "amount": 12.5}}])
    run_campaign(app, queue, standin)
    (placed,) = standin.calls
    assert placed.request["metadata"] == {"customer": "C-1", "amount": 12.5}
    assert placed.request["bot"] == "calls-bot" and placed.request["machineDetection"] == "detect"
    assert urlsplit(placed.request["notifyUrl"]).netloc == "api.example.com"  # the creating request's host
    assert progress(app, campaign["id"])["state"] == "completed"


# --- calling windows ----------------------------------------------------------------------------------


def test_a_target_outside_its_window_waits_for_its_opening_and_is_never_called_before(app, queue, standin, clock):
    sent: list[tuple[dict[str, Any], int]] = []
    campaigns = app.campaigns()
    real_send = campaigns.queue.send
    campaigns.queue.send = lambda messages: (sent.extend(messages), real_send(messages))[1]
    campaign = create(app, [{"target": NEW_YORK}, {"target": PERSON}], window={"start": "09:00", "end": "20:00"})
    run_campaign(app, queue, standin, delayed=False)
    # Berlin's 13:00 is inside; New York's 07:00 is not: only Berlin was called
    assert dialled(standin) == [PERSON]
    assert progress(app, campaign["id"])["progress"]["deferred"] == 1
    # New York's message was sent again for 09:00 in New York (14:00 UTC), with SQS's longest delay
    body, delay = sent[-1]
    assert (body["index"], body["due"], delay) == (0, NOON_UTC + 2 * 3600, 900)
    event = poller(app, queue).event([{"MessageId": "m", "ReceiptHandle": "r", "Body": json.dumps(body)}])
    # Arriving early (a hop), it is sent on; on time, it dials
    clock.now = NOON_UTC + 3600
    assert app.lambda_handler(event, FakeLambdaContext()) == {"batchItemFailures": []}
    assert dialled(standin) == [PERSON] and sent[-1] == (body, 900)
    clock.now = NOON_UTC + 2 * 3600 - 10
    assert app.lambda_handler(event, FakeLambdaContext()) == {"batchItemFailures": []}
    assert dialled(standin) == [PERSON] and sent[-1] == (body, 10)
    clock.now = NOON_UTC + 2 * 3600
    assert app.lambda_handler(event, FakeLambdaContext()) == {"batchItemFailures": []}
    assert dialled(standin) == [PERSON, NEW_YORK]
    assert progress(app, campaign["id"])["progress"]["deferred"] == 0


def test_targets_whose_window_never_opens_in_all_their_zones_are_refused(app, queue, standin):
    # A Russian mobile number spans 16 zones (UTC+2..+12): a one-hour window is never open in all of them
    campaign = create(app, [{"target": "+79161234567"}, {"target": PERSON}],
                      window={"start": "09:00", "end": "10:00"})  # fmt: skip
    assert campaign["progress"]["refused"] == 1
    rows = {row["number"]: row for row in results(app, campaign["id"])}
    assert rows["+79161234567"]["reason"] == "window_never_open"


# --- pacing -------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_max_concurrent_holds_the_next_call_until_a_final_status_frees_a_slot(app, queue, standin):
    campaign = create(app, [{"target": PERSON}, {"target": MACHINE}, {"target": NO_ANSWER}],
                      pacing={"calls_per_second": 50, "max_concurrent": 1, "recheck_seconds": 1},
                      retry={"on": [], "max_attempts": 1})  # fmt: skip
    client, sqs = boto3.client("sqs"), poller(app, queue)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and len(standin.calls) < 1:
        sqs.poll_once(client, wait_seconds=1)
    for _ in range(3):  # the others come back and find the one slot taken
        sqs.poll_once(client, wait_seconds=1)
    assert len(standin.calls) == 1 and progress(app, campaign["id"])["progress"]["dialling"] == 1
    run_campaign(app, queue, standin)
    assert sorted(dialled(standin)) == sorted([PERSON, MACHINE, NO_ANSWER])
    assert progress(app, campaign["id"])["progress"]["completed"] == 3


def test_targets_are_spread_by_calls_per_second(app, queue):
    create(app, [{"target": f"+4930123400{i:02d}"} for i in range(5)], pacing={"calls_per_second": 0.5})
    messages = []
    for _ in range(3):
        messages += boto3.client("sqs").receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
    dues = sorted(json.loads(m["Body"])["due"] - NOON_UTC for m in messages)
    assert dues[:1] == [0]  # only the first is due at once: the others are delayed 2, 4, 6, 8 s (invisible)
    assert queued(queue) == 5


# --- pause, resume, cancel ----------------------------------------------------------------------------


def test_pause_stops_dialling_resume_sends_the_pending_targets_again_and_cancel_ends_it(app, queue, standin):
    campaign = create(app, [{"target": PERSON}, {"target": MACHINE}])
    assert send(app, "POST", f"/outbound/calls/campaigns/{campaign['id']}/pause")[1]["state"] == "paused"
    run_campaign(app, queue, standin)
    assert standin.calls == [] and progress(app, campaign["id"])["progress"]["pending"] == 2
    assert send(app, "POST", f"/outbound/calls/campaigns/{campaign['id']}/pause")[0] == 409
    assert send(app, "POST", f"/outbound/calls/campaigns/{campaign['id']}/resume")[1]["state"] == "running"
    run_campaign(app, queue, standin)
    assert sorted(dialled(standin)) == sorted([PERSON, MACHINE])
    assert progress(app, campaign["id"])["state"] == "completed"

    other = create(app, [{"target": NO_ANSWER}])
    status, cancelled = send(app, "POST", f"/outbound/calls/campaigns/{other['id']}/cancel")
    assert (status, cancelled["state"], cancelled["progress"]["cancelled"]) == (200, "cancelled", 1)
    run_campaign(app, queue, standin)
    assert NO_ANSWER not in dialled(standin)
    assert [row["outcome"] for row in results(app, other["id"])] == ["cancelled"]
    status, refused = send(app, "POST", f"/outbound/calls/campaigns/{other['id']}/resume")
    assert (status, refused["error"], refused["state"]) == (409, "campaign_state", "cancelled")


# --- interleavings ------------------------------------------------------------------------------------


def test_duplicate_deliveries_of_one_message_at_once_dial_once_and_count_once(app, queue, standin):
    campaign = create(app, [{"target": PERSON}])
    (message,) = boto3.client("sqs").receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    event = poller(app, queue).event([message])
    barrier, answers = threading.Barrier(8), []

    def deliver_copy() -> None:
        barrier.wait()
        answers.append(app.lambda_handler(event, FakeLambdaContext()))

    threads = [threading.Thread(target=deliver_copy) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # A copy that found the call being placed asks to see the message again later; then it is settled
    assert len(answers) == 8
    assert app.lambda_handler(event, FakeLambdaContext()) == {"batchItemFailures": []}
    assert dialled(standin) == [PERSON]
    counts = progress(app, campaign["id"])["progress"]
    assert (counts["attempts"], counts["dialling"], counts["pending"]) == (1, 1, 0)


def test_concurrent_copies_of_the_final_status_finish_the_attempt_once(app, queue, standin):
    campaign = create(app, [{"target": BUSY_THEN_ANSWER}])
    poller(app, queue).poll_once(boto3.client("sqs"), wait_seconds=1)
    (placed,) = standin.calls
    assert placed.done.wait(10)
    notify = placed.request["notifyUrl"][len("https://api.example.com") :]
    barrier, codes = threading.Barrier(8), []

    def callback() -> None:
        barrier.wait()
        codes.append(send(app, "POST", notify, placed.callbacks[-1], key=None)[0])

    threads = [threading.Thread(target=callback) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert codes == [200] * 8
    counts = progress(app, campaign["id"])["progress"]
    # One retry scheduled, one slot freed, whatever the number of copies
    assert (counts["retries"], counts["dialling"], counts["pending"]) == (1, 0, 1)
    run_campaign(app, queue, standin)
    assert dialled(standin) == [BUSY_THEN_ANSWER, BUSY_THEN_ANSWER]
    final = progress(app, campaign["id"])["progress"]
    assert (final["attempts"], final["answered"], final["completed"]) == (2, 1, 1)


def test_a_delivery_after_a_crash_between_claim_and_dial_places_the_call_once(app, queue, standin, monkeypatch):
    campaign = create(app, [{"target": PERSON}])
    (message,) = boto3.client("sqs").receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    event = poller(app, queue).event([message])
    outbound = app.outbound()
    real = outbound.place_call

    def crash(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the invocation died")

    monkeypatch.setattr(outbound, "place_call", crash)
    assert app.lambda_handler(event, FakeLambdaContext())["batchItemFailures"]  # SQS will deliver it again
    monkeypatch.setattr(outbound, "place_call", real)
    assert app.lambda_handler(event, FakeLambdaContext()) == {"batchItemFailures": []}
    assert app.lambda_handler(event, FakeLambdaContext()) == {"batchItemFailures": []}  # and again: in progress
    assert dialled(standin) == [PERSON]
    assert progress(app, campaign["id"])["progress"]["attempts"] == 1


# --- the API's edges ----------------------------------------------------------------------------------


def test_the_key_is_checked_before_the_body_and_bad_input_is_a_clear_400(app, queue, standin):
    assert send(app, "POST", "/outbound/calls/campaigns", raw=b"{oops", key=None)[0] == 401
    assert send(app, "GET", "/outbound/calls/campaigns/x", key="wrong")[0] == 401
    assert send(app, "POST", "/outbound/nobody/campaigns", {"name": "x", "targets": []})[0] == 404
    cases = [
        (b"{oops", "bad_request"),
        (json.dumps({"name": "x"}).encode(), "bad_request"),  # no targets
        (json.dumps({"name": "x", "targets": [{"target": PERSON}], "pacing": {"calls_per_second": 0}}).encode(),
         "bad_request"),
        (json.dumps({"name": "x", "targets": [{"target": PERSON}], "window": {"start": "20:00", "end": "09:00"}})
         .encode(), "bad_request"),
        (json.dumps({"name": "x", "targets": [{"target": PERSON}], "window": {"fallback_timezone": "Mars/Base"}})
         .encode(), "bad_request"),
        (json.dumps({"name": "x", "targets": [{"target": "not a number"}, {"target": PERSON}]}).encode(),
         "invalid_targets"),
    ]  # fmt: skip
    for raw, error in cases:
        status, answer = send(app, "POST", "/outbound/calls/campaigns", raw=raw)
        assert (status, answer["error"]) == (400, error), (raw, answer)
    listed = [{"target": "123"}, {"target": PERSON}, {"target": "+49 30 1"}]
    status, answer = send(app, "POST", "/outbound/calls/campaigns", {"name": "x", "targets": listed})
    assert [t["index"] for t in answer["targets"]] == [0, 2]
    assert send(app, "GET", "/outbound/calls/campaigns/not-a-uuid")[0] == 404
    assert send(app, "POST", f"/outbound/calls/campaigns/{'0' * 8}-0000-0000-0000-{'0' * 12}/pause")[0] == 404
    assert send(app, "POST", f"/outbound/calls/campaigns/{'0' * 8}-0000-0000-0000-{'0' * 12}/explode")[0] == 404
    assert queued(queue) == 0 and standin.calls == []


def test_a_csv_upload_with_settings_in_the_query_creates_the_campaign(app, queue, standin):
    text = '\ufeffNumber,customer,note\r\n+493012340001,C-1,"says ""hi"""\r\n030 12340003,C-3,\r\n\r\n'
    status, campaign = send(app, "POST", "/outbound/calls/campaigns?name=csv&calls_per_second=50&max_attempts=1"
                            "&window=08:00-21:00&days=mon,tue,wed,thu,fri", raw=text.encode(),
                            headers={"content-type": "text/csv; charset=utf-8"})  # fmt: skip
    assert status == 202, campaign
    assert campaign["settings"]["window"]["start"] == "08:00" and campaign["settings"]["retry"]["max_attempts"] == 1
    run_campaign(app, queue, standin)
    rows = {row["number"]: row for row in results(app, campaign["id"])}
    assert rows[PERSON]["note"] == 'says "hi"' and rows[MACHINE]["customer"] == "C-3"
    assert rows[MACHINE]["outcome"] == "machine"


@pytest.mark.parametrize(
    ("raw", "status", "error"),
    [
        (b"number\n+493012340001\x00\n", 400, "invalid_csv"),
        (b"number\n\xff\xfe+49\n", 400, "bad_request"),  # not UTF-8: refused by the decoder
        (b"name,customer\nx,y\n", 400, "invalid_csv"),  # no number column
        (b'number,customer\n+493012340001,"open quote\n', 400, "invalid_csv"),
        (b"number,number\n+493012340001,+493012340002\n", 400, "invalid_csv"),
        (b"number\n+493012340001,extra\n", 400, "invalid_csv"),
        (b"number\n", 400, "invalid_csv"),
        (b"number\nnot-a-number\n", 400, "invalid_targets"),
        (b"number\n" + b"+493012340001\n" * 2001, 400, "invalid_csv"),
        (b"number\n\xef\xbf\xbe\n", 400, "bad_request"),  # U+FFFE: nothing SQS or DynamoDB may hold
    ],
)
def test_hostile_csv_bytes_are_refused_with_a_400_and_create_nothing(app, queue, standin, raw, status, error):
    got, answer = send(app, "POST", "/outbound/calls/campaigns?name=x", raw=raw, headers={"content-type": "text/csv"})
    assert (got, answer["error"]) == (status, error), answer
    assert queued(queue) == 0


def test_an_idempotency_key_creates_one_campaign(app, queue, standin):
    body = {"name": "once", "targets": [{"target": PERSON}]}
    headers = {"idempotency-key": "c-1"}
    first = send(app, "POST", "/outbound/calls/campaigns", body, headers=headers)
    again = send(app, "POST", "/outbound/calls/campaigns", body, headers=headers)
    assert first == again and first[0] == 202 and queued(queue) == 1
    other = send(app, "POST", "/outbound/calls/campaigns", {**body, "name": "twice"}, headers=headers)
    assert (other[0], other[1]["error"]) == (409, "idempotency_key_reused")
