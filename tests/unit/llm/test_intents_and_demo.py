"""The llm NLU connector (few-shot from intents.yaml) and the demo-llm endpoint's settings and flow."""

import json

import pytest

from audiocodes_devtools.model_server import Reply, model_server
from audiocodes_endpoint.config.endpoint import load_endpoints
from audiocodes_endpoint.config.nlu import NluSettings
from audiocodes_endpoint.core.turn_pipeline import turn_options
from audiocodes_endpoint.features.external_nlu import NluSetupError, connector_for
from audiocodes_endpoint.features.llm.providers import LlmRuntime
from audiocodes_endpoint.flows import load_agent
from tests.conftest import ROOT
from tests.unit.flows.support import Call


def llm_nlu(server, **more):
    return NluSettings.model_validate(
        {"connector": "llm", "llm": {"provider": "openai", "base_url": server.base_url, "model": "small"}, **more}
    )


def test_the_llm_connector_classifies_with_the_agents_intents_as_examples():
    with model_server(Reply(['{"intent": "balance", "score": 0.92, "slots": {"account": "12345"}}'])) as server:
        connector = connector_for(llm_nlu(server), None, ROOT / "agent")
        result = connector.recognize("how much money is on account 12345", "en-US")
        body = server.served[0].body
    assert (result.intent, result.score, result.slots) == ("balance", 0.92, {"account": "12345"})
    system = body["messages"][0]["content"]
    assert "- balance: The caller wants to know their account balance." in system
    assert '    e.g. "how much money do I have"' in system
    assert body["messages"][1] == {"role": "user", "content": "how much money is on account 12345"}
    assert body["temperature"] == 0.0 and body["response_format"] == {"type": "json_object"}


def test_an_unknown_intent_a_low_score_or_a_failing_model_give_no_intent():
    replies = [
        Reply(['{"intent": "launch_rocket", "score": 0.99}']),
        Reply(['{"intent": "balance", "score": 0.3}']),
        Reply(status=500),
        Reply(["not json at all"]),
    ]
    with model_server(*replies) as server:
        connector = connector_for(llm_nlu(server, threshold=0.5), None, ROOT / "agent")
        results = [connector.recognize("words", None) for _ in replies]
    assert [r.intent for r in results] == [None, None, None, None]


def test_the_llm_connector_needs_its_settings_and_intents(tmp_path):
    with pytest.raises(ValueError, match="llm: required"):
        NluSettings.model_validate({"connector": "llm"})
    with model_server() as server, pytest.raises(NluSetupError, match=r"intents\.yaml"):
        connector_for(llm_nlu(server), None, tmp_path)


def test_demo_llm_without_a_model_says_so(monkeypatch):
    monkeypatch.setenv("LLM_PROVIDER", "none")
    endpoint = load_endpoints(ROOT / "agent")["demo-llm"]
    assert endpoint.async_mode and endpoint.llm is not None and endpoint.llm.provider == "none"
    outputs = Call(load_agent(ROOT / "agent"), flow="assistant", options=turn_options(endpoint)).start()
    assert outputs[0]["text"].startswith("No language model is configured for this demo.")
    assert outputs[-1]["name"] == "hangup"


def test_demo_llm_deployed_uses_bedrock_and_under_make_run_the_local_server(monkeypatch):
    for name in ("LLM_PROVIDER", "LLM_BASE_URL", "LLM_MODEL"):
        monkeypatch.delenv(name, raising=False)
    deployed = load_endpoints(ROOT / "agent")["demo-llm"]
    assert deployed.llm is not None and (deployed.llm.provider, deployed.llm.model) == (
        "bedrock",
        "eu.amazon.nova-lite-v1:0",
    )
    options = turn_options(deployed)
    assert isinstance(options.llm, LlmRuntime) and options.llm.streaming and options.llm.mask_prompts
    with model_server(Reply(["Hello from the local model."])) as server:
        monkeypatch.setenv("LLM_PROVIDER", "openai")
        monkeypatch.setenv("LLM_BASE_URL", server.base_url)
        monkeypatch.setenv("LLM_MODEL", "llama-local")
        endpoint = load_endpoints(ROOT / "agent")["demo-llm"]
        call = Call(load_agent(ROOT / "agent"), flow="assistant", options=turn_options(endpoint))
        assert call.start()[-1]["text"].startswith("Hello, this is Example Bank's assistant.")
        assert call.says("hi")[-1]["text"] == "Hello from the local model."
        assert json.dumps(server.served[0].body["model"]) == '"llama-local"'
