"""The llm and llm_extract nodes in flows, against the scripted model server over real HTTP."""

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from audiocodes_devtools.model_server import Reply, model_server
from audiocodes_endpoint.config.llm import LlmSettings
from audiocodes_endpoint.features.llm.providers import LlmRuntime
from audiocodes_endpoint.flows import FlowEngine, FlowInput, FlowState, TurnOptions
from tests.unit.flows.support import Call, build_agent

ASSISTANT = """
start: ask
nodes:
  ask:
    type: question
    text: How can I help?
    next: answer
  answer:
    type: llm
    system: "You are the bank's assistant. The caller is {{ context.name }}."
    prompt: "{{ input.text }}"
    store: last_answer
    next: ask
"""


@pytest.fixture
def server():
    with model_server() as running:
        yield running


def options(server, streaming=True, **settings):
    llm = LlmSettings(provider="openai", base_url=server.base_url, model="local", min_sentence_chars=10, **settings)
    return TurnOptions(allow_private_network=True, llm=LlmRuntime(llm, streaming=streaming))


class Timed(Call):
    """A call whose emitted outputs carry the monotonic time they were handed to the endpoint."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.emitted_at = []
        self.emitted = _Stamped(self.emitted_at)


class _Stamped(list):
    def __init__(self, stamps):
        super().__init__()
        self.stamps = stamps

    def append(self, item):
        self.stamps.append(time.monotonic())
        super().append(item)


def test_async_mode_sends_each_sentence_as_soon_as_the_model_completes_it(tmp_path, server):
    server.script(Reply(["Your balance is", " 120 euros.", " Anything else", " I can do for you?"], delay=0.3))
    call = Timed(build_agent(tmp_path, ASSISTANT), options=options(server), context={"name": "Ada"})
    call.start()
    before = len(call.emitted_at)
    outputs = call.says("What's my balance?")
    served = server.served[0]
    assert call.texts(outputs) == ["Your balance is 120 euros.", "Anything else I can do for you?", "How can I help?"]
    first_sent = call.emitted_at[before]
    # The first sentence went out when its end arrived (the second piece), before the model's next piece
    print(
        f"\nfirst sentence emitted {first_sent - served.written_at[1]:.4f} s after its end was written; "
        f"the model's stream ended {served.ended_at - first_sent:.3f} s later"
    )
    assert served.written_at[1] <= first_sent < served.written_at[2]
    assert served.body["messages"][0] == {
        "role": "system",
        "content": "You are the bank's assistant. The caller is Ada.",
    }
    assert call.context["last_answer"] == "Your balance is 120 euros. Anything else I can do for you?"


def test_sync_mode_sends_the_whole_answer_as_one_output(tmp_path, server):
    server.script(Reply(["Your balance is", " 120 euros.", " Anything else", " I can do for you?"]))
    call = Call(build_agent(tmp_path, ASSISTANT), options=options(server, streaming=False))
    call.start()
    assert call.texts(call.says("balance")) == [
        "Your balance is 120 euros. Anything else I can do for you?",
        "How can I help?",
    ]


def test_the_history_is_kept_in_the_session_bounded_by_turns_and_size(tmp_path, server):
    server.script(Reply(["First answer."]), Reply(["Second answer."]), Reply(["Third answer."]))
    call = Call(build_agent(tmp_path, ASSISTANT), options=options(server, history_turns=1))
    call.start()
    call.says("one")
    call.says("two")
    call.says("three")
    assert [m["content"] for m in server.served[1].body["messages"][1:]] == ["one", "First answer.", "two"]
    assert [m["content"] for m in server.served[2].body["messages"][1:]] == ["two", "Second answer.", "three"]
    stored = json.loads(json.dumps(call.context))  # the session keeps it as JSON
    assert stored["_llm_history"]["main"] == [
        {"role": "user", "content": "three"},
        {"role": "assistant", "content": "Third answer."},
    ]
    server.script(Reply(["x" * 50 + "."]), Reply(["ok."]))
    small = Call(build_agent(tmp_path / "b", ASSISTANT), options=options(server, history_chars=30))
    small.start()
    small.says("long one")
    small.says("next")
    assert [m["content"] for m in server.served[1].body["messages"][1:]] == ["next"]  # the long exchange was dropped


TOOLS = """
start: answer
nodes:
  answer:
    type: llm
    prompt: "{{ input.text }}"
    tools:
      - name: get_balance
        description: The balance of an account
        parameters: {type: object, properties: {account: {type: string}}, required: [account]}
        function: bank.balance
      - name: exchange_rate
        description: The exchange rate of a currency
        parameters: {type: object, properties: {currency: {type: string}}}
        http:
          url: "{{ variables.rates_url }}/rates/{{ args.currency }}"
      - name: transfer_to_agent
        description: Hand the caller to a human
        next: human
    next: done
  done:
    type: say
    text: "Done after {{ input.result.text }}"
  human:
    type: say
    text: "Transferring because {{ input.result.arguments.reason }}"
"""
BANK = """
def balance(args, context):
    context["looked_up"] = args["account"]
    return {"account": args["account"], "euros": 120}
"""


@pytest.fixture
def rates():
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps({"path": self.path, "rate": 1.08}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def tools_call(tmp_path, server, rates):
    agent = build_agent(tmp_path, TOOLS, extensions={"bank": BANK})
    base = options(server)
    return Call(agent, options=TurnOptions(allow_private_network=True, llm=base.llm, variables={"rates_url": rates}))


def test_tools_run_the_agents_function_and_an_http_request(tmp_path, server, rates):
    server.script(
        Reply(
            ["Let me look that up."],
            tool_calls=[("get_balance", {"account": "12345"}), ("exchange_rate", {"currency": "USD"})],
        ),
        Reply(["You have 120 euros, about 130 dollars."]),
    )
    call = tools_call(tmp_path, server, rates)
    outputs = call.start()
    results = server.served[1].body["messages"][-2:]
    assert [json.loads(m["content"]) for m in results] == [
        {"account": "12345", "euros": 120},
        {"status": 200, "ok": True, "body": {"path": "/rates/USD", "rate": 1.08}},
    ]
    assert call.context["looked_up"] == "12345"
    assert call.texts(outputs) == [
        "Let me look that up.",
        "You have 120 euros, about 130 dollars.",
        "Done after Let me look that up.\nYou have 120 euros, about 130 dollars.",
    ]


def test_a_branch_tool_continues_the_flow_at_its_node(tmp_path, server, rates):
    server.script(Reply(tool_calls=[("transfer_to_agent", {"reason": "the caller asked for a human"})]))
    outputs = tools_call(tmp_path, server, rates).start()
    assert [o["text"] for o in outputs] == ["Transferring because the caller asked for a human"]
    assert len(server.served) == 1


def test_a_failing_tool_goes_back_to_the_model_as_an_error(tmp_path, server, rates):
    server.script(Reply(tool_calls=[("get_balance", {})]), Reply(["I could not find that account."]))
    tools_call(tmp_path, server, rates).start()
    result = json.loads(server.served[1].body["messages"][-1]["content"])
    assert result["error"].startswith("KeyError")


FALLBACK = """
start: answer
nodes:
  answer:
    type: llm
    fallback: "Our assistant is not available."
    on_error: sorry
    next: fine
  fine: {type: say, text: fine}
  sorry: {type: say, text: "{{ input.result.error }}"}
"""


def test_a_failed_or_slow_model_gives_the_fallback_then_on_error(tmp_path, server):
    server.script(Reply(status=500), Reply(["late"], delay=2.0))
    call = Call(build_agent(tmp_path, FALLBACK), options=options(server, timeout_seconds=0.3))
    outputs = call.start()
    assert outputs[0]["text"] == "Our assistant is not available."
    assert "HTTP 500" in outputs[1]["text"]
    outputs = Call(build_agent(tmp_path / "b", FALLBACK), options=options(server, timeout_seconds=0.3)).start()
    assert outputs[0]["text"] == "Our assistant is not available." and "timed out" in outputs[1]["text"]


def test_without_a_model_configured_the_node_says_so(tmp_path):
    outputs = Call(build_agent(tmp_path, FALLBACK), options=TurnOptions()).start()
    assert outputs[0]["text"] == "Our assistant is not available."
    assert "no language model is configured" in outputs[1]["text"]


def test_prompts_are_masked_when_the_endpoint_says_so_and_usage_is_counted(tmp_path, server):
    server.script(Reply(["Noted, thank you."], usage=(40, 6)))
    agent = build_agent(tmp_path, ASSISTANT)
    llm = LlmSettings(provider="openai", base_url=server.base_url)
    masked = TurnOptions(llm=LlmRuntime(llm, streaming=True, mask_prompts=True))
    engine = FlowEngine(agent)
    state = FlowState()
    first = engine.run_turn(
        "main",
        state,
        FlowInput(userId="u", sessionId="s", URLToken="t", kind="event", event="start"),
        {},
        lambda a: None,
        masked,
    )
    result = engine.run_turn(
        "main",
        first.state,
        FlowInput(userId="u", sessionId="s", URLToken="t", text="call me on +49 171 2345678"),
        first.context,
        lambda a: None,
        masked,
    )
    assert server.served[0].body["messages"][-1]["content"] == "call me on *****"
    assert result.context["_llm_history"]["main"][0]["content"] == "call me on *****"
    assert result.metrics["llm_tokens_in"] == 40 and result.metrics["llm_tokens_out"] == 6
    assert result.metrics["llm_latency_ms"] >= 0


EXTRACT = """
start: extract
nodes:
  extract:
    type: llm_extract
    slots:
      amount: {type: number, description: The amount in euros}
      iban: {type: string}
      urgency: {type: string, enum: [normal, urgent]}
    required: [iban]
    store: payment
    on_missing: ask_iban
    next: confirm
  confirm: {type: say, text: "Sending {{ context.payment.amount }} to {{ context.payment.iban }}"}
  ask_iban: {type: say, text: "Which account? I have {{ input.result | tojson }}"}
"""


def test_llm_extract_fills_declared_slots_into_context(tmp_path, server):
    server.script(
        Reply(['```json\n{"amount": 50, "iban": "DE89370400440532013000", "urgency": "whenever"}\n```']),
        Reply(['{"amount": "fifty", "iban": null}']),
    )
    call = Call(build_agent(tmp_path, EXTRACT), options=options(server, streaming=False))
    outputs = call.says("send 50 euros to DE89370400440532013000 whenever")
    assert outputs[-1]["text"] == "Sending 50 to DE89370400440532013000"
    assert call.context["payment"] == {"amount": 50, "iban": "DE89370400440532013000"}  # urgency not in its enum
    assert server.served[0].body["response_format"] == {"type": "json_object"}
    assert '"iban": {"type": "string"}' in server.served[0].body["messages"][0]["content"]
    other = Call(build_agent(tmp_path / "b", EXTRACT), options=options(server, streaming=False))
    assert other.says("fifty euros")[-1]["text"] == "Which account? I have {}"  # "fifty" is not a number
