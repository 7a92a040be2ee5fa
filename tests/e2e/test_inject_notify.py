"""Inject & Notify end to end: another system speaks into a live call through the emulator."""

import pytest

pytestmark = pytest.mark.e2e


def said(frames):
    return [a.get("text") for f in frames for a in f.activities if (a.get("text") or "").startswith("You said")]


def connected_echo_call(emulator):
    vaic = emulator.client("echo-async")
    call = vaic.create()
    call.open_socket()
    call.start(caller="+4921154591991")
    call.frames(10, until=lambda f: "Say something" in (f.activities[0].get("text") or ""))
    return vaic, call


def test_inject_runs_through_the_flow_and_notify_goes_straight_to_the_caller(emulator):
    vaic, call = connected_echo_call(emulator)
    with vaic, call:
        assert emulator.inject("inject", "echo-async", call.conversation_id, text="from the CRM").status_code == 202
        frames = call.frames(10, until=lambda f: "Say something" in (f.activities[0].get("text") or ""))
        assert said(frames) == ["You said from the CRM"]
        notified = emulator.inject("notify", "echo-async", call.conversation_id, text="A note for you")
        assert notified.status_code == 202
        frames = call.frames(10, until=lambda f: f.activities[0].get("text") == "A note for you")
        assert [a["text"] for f in frames for a in f.activities] == ["A note for you"]  # no flow output


def test_injects_are_ordered_with_the_callers_turns(emulator):
    vaic, call = connected_echo_call(emulator)
    with vaic, call:
        call.say("one")
        emulator.inject("inject", "echo-async", call.conversation_id, text="two")
        call.say("three")
        frames = call.frames(15, until=lambda f: "You said three" in (f.activities[0].get("text") or ""))
        assert said(frames) == ["You said one", "You said two", "You said three"]


def test_a_burst_of_twenty_injects_arrives_in_order(emulator):
    vaic, call = connected_echo_call(emulator)
    with vaic, call:
        for i in range(20):
            assert emulator.inject("inject", "echo-async", call.conversation_id, text=f"i{i}").status_code == 202
        frames = call.frames(30, until=lambda f: "You said i19" in (f.activities[0].get("text") or ""))
        assert said(frames) == [f"You said i{i}" for i in range(20)]


def test_after_the_call_ends_inject_is_refused(emulator):
    vaic, call = connected_echo_call(emulator)
    with vaic, call:
        call.disconnect()
        answer = emulator.inject("notify", "echo-async", call.conversation_id, text="too late")
        assert answer.status_code == 409


def test_the_demo_waits_for_a_payment_that_a_webhook_reports(emulator):
    import httpx

    # Given an overdrawn caller who accepted a payment link on the async demo
    with emulator.client("demo-async") as vaic, vaic.create() as call:
        call.open_socket()
        call.start(caller="+4921154591991")
        call.frames(10, until=lambda f: "account number" in (f.activities[0].get("text") or ""))
        call.say("67890")
        call.frames(10, until=lambda f: "payment link by text" in (f.activities[0].get("text") or ""))
        call.say("yes")
        call.frames(10, until=lambda f: "I'll wait" in (f.activities[0].get("text") or ""))
        # When the payment provider's webhook arrives at the raw inject route
        webhook = {
            "event": "payment.succeeded",
            "id": "pay_1",
            "amount": 42.1,
            "currency": "EUR",
            "metadata": {"conversation": call.conversation_id},
        }
        answer = httpx.post(
            f"{emulator.base_url}/inject/demo-async",
            json=webhook,
            headers={"X-API-Key": emulator.inject_keys["demo-async"]},
            timeout=10,
        )
        assert answer.status_code == 202
        # Then the flow carries on and thanks the caller with the amount
        frames = call.frames(10, until=lambda f: "payment has arrived" in (f.activities[0].get("text") or ""))
        assert any("42.1 EUR" in (a.get("text") or "") for f in frames for a in f.activities)


def test_the_api_key_may_come_as_a_query_parameter(emulator):
    import httpx

    # Given a live async call and an integration that sends its key as ?api_key= (no header)
    vaic, call = connected_echo_call(emulator)
    with vaic, call:
        key = emulator.inject_keys["echo-async"]
        body = {"URLToken": "echo-async", "sessionId": call.conversation_id, "text": "by query"}
        answer = httpx.post(f"{emulator.base_url}/v2.0/endpoint/inject?api_key={key}", json=body, timeout=10)
        wrong = httpx.post(f"{emulator.base_url}/v2.0/endpoint/inject?api_key=wrong", json=body, timeout=10)

        # Then the right key is accepted (API Gateway passes it in queryStringParameters), a wrong one is not
        assert answer.status_code == 202, answer.text
        assert wrong.status_code == 401
        frames = call.frames(10, until=lambda f: "Say something" in (f.activities[0].get("text") or ""))
        assert said(frames) == ["You said by query"]


def test_make_run_serves_the_documents_of_the_routes_it_hosts(emulator):
    import httpx

    # Given the Inject & Notify document as `make run` serves it, aimed at itself
    doc = httpx.get(f"{emulator.base_url}/_docs/inject-notify.json", timeout=10).json()
    (server,) = doc["servers"]
    assert server["url"] == emulator.base_url
    # Then a request built from it reaches the route it documents (a wrong key: the documented 401)
    answer = httpx.post(
        server["url"] + "/v2.0/endpoint/inject", json={"URLToken": "echo-async", "sessionId": "x", "text": "hi"},
        headers={"X-API-Key": "wrong"}, timeout=10,
    )  # fmt: skip
    assert answer.status_code == 401 and "401" in doc["paths"]["/v2.0/endpoint/inject"]["post"]["responses"]
    assert "SwaggerUIBundle" in httpx.get(f"{emulator.base_url}/_docs/inject-notify", timeout=10).text
    # And a real 202 answer is what the document says it is
    import jsonschema

    vaic, call = connected_echo_call(emulator)
    with vaic, call:
        accepted = emulator.inject("inject", "echo-async", call.conversation_id, text="documented")
        assert accepted.status_code == 202
        documented = {**doc["components"]["schemas"]["Accepted"], "additionalProperties": False}
        jsonschema.validate(accepted.json(), documented)
