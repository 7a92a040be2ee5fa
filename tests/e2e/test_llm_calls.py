"""A generative answer spoken as it streams: demo-llm (async) through the emulator, with the scripted
model server as its OpenAI-compatible model (LLM_BASE_URL), over real HTTP and a real WebSocket."""

import os
from collections.abc import Iterator
from unittest import mock

import pytest

from audiocodes_devtools.launcher import RunningEmulator, emulator_process
from audiocodes_devtools.model_server import ModelServer, Reply, model_server
from tests.e2e.conftest import demo_agent_with_echo

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def model() -> Iterator[ModelServer]:
    with model_server() as server:
        yield server


@pytest.fixture(scope="module")
def llm_emulator(model: ModelServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEmulator]:
    with mock.patch.dict(os.environ, LLM_BASE_URL=model.base_url, LLM_MODEL="scripted-model"):
        os.environ.pop("LLM_PROVIDER", None)  # the emulator chooses: openai, because LLM_BASE_URL is set
        with emulator_process(demo_agent_with_echo(tmp_path_factory.mktemp("agent"))) as running:
            yield running


def texts(frame):
    return [a.get("text") or a.get("name") for a in frame.activities]


def until_text(fragment):
    return lambda frame: any(fragment in (a.get("text") or "") for a in frame.activities)


@pytest.mark.slow
def test_the_first_sentence_reaches_the_caller_while_the_model_is_still_streaming(llm_emulator, model):
    with llm_emulator.client("demo-llm") as vaic, vaic.create() as call:
        call.open_socket()
        call.start(caller="+4921154591991")
        call.frames(10, until=until_text("How can I help"))
        model.script(Reply(["Your balance", " is 120 euros.", " Is there anything", " else I can do?"], delay=0.4))
        assert call.say("What is my balance?") == []  # async: the HTTP answer is empty, frames carry the words
        frames = call.frames(10, until=until_text("else I can do"))
    served = model.served[0]
    first = next(f for f in frames if "Your balance is 120 euros." in texts(f))
    last = next(f for f in frames if "Is there anything else I can do?" in texts(f))
    print(
        "\n  model wrote the first sentence's end  t=0.000 s"
        f"\n  caller got the first sentence's frame t={first.received_at - served.written_at[1]:.3f} s"
        f"\n  model wrote its last piece            t={served.written_at[-1] - served.written_at[1]:.3f} s"
        f"\n  model's stream ended                  t={served.ended_at - served.written_at[1]:.3f} s"
        f"\n  caller got the second sentence        t={last.received_at - served.written_at[1]:.3f} s"
    )
    assert first is not last
    assert served.written_at[1] < first.received_at < served.written_at[-1] < served.ended_at
    # The model got the flow's system prompt and the caller's words; the conversation is in the session.
    assert served.body["model"] == "scripted-model" and "Example Bank" in served.body["messages"][0]["content"]
    assert served.body["messages"][-1] == {"role": "user", "content": "What is my balance?"}
    assert [t["function"]["name"] for t in served.body["tools"]] == ["get_balance", "transfer_to_agent", "end_call"]


def test_a_branch_tool_the_model_chooses_transfers_the_call(llm_emulator, model):
    with llm_emulator.client("demo-llm") as vaic, vaic.create() as call:
        call.open_socket()
        call.start(caller="+4921154591991")
        call.frames(10, until=until_text("How can I help"))
        model.script(Reply(tool_calls=[("transfer_to_agent", {"reason": "wants a person"})]))
        call.say("Put me through to a person")
        frames = call.frames(10, until=lambda f: any(a.get("name") == "transfer" for a in f.activities))
    transfer = next(a for f in frames for a in f.activities if a.get("name") == "transfer")
    assert transfer["activityParams"]["handoverReason"] == "wants a person"
