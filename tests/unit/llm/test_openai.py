"""The OpenAI-compatible provider against a local streaming server over real HTTP (server-sent events)."""

import time

import pytest

from audiocodes_devtools.model_server import Reply, model_server
from audiocodes_endpoint.config.llm import LlmSettings
from audiocodes_endpoint.features.llm.agent import Tool, answer
from audiocodes_endpoint.features.llm.openai import OpenAiProvider
from audiocodes_endpoint.features.llm.providers import provider_for
from audiocodes_endpoint.features.llm.types import Finished, ModelError, ModelRequest, TextDelta, ToolSpec, Usage

WEATHER = ToolSpec("weather", "Weather in a city", {"type": "object", "properties": {"city": {"type": "string"}}})


def ask(**more):
    return ModelRequest(model="local-model", system="Be brief.", messages=[{"role": "user", "content": "Hi"}], **more)


def test_text_arrives_piece_by_piece_while_the_server_is_still_writing():
    with model_server(Reply(["Hello", " there.", " Bye."], delay=0.2, usage=(21, 3))) as server:
        provider = OpenAiProvider(base_url=server.base_url)
        seen = []
        for event in provider.stream(ask(max_tokens=50, temperature=0.5)):
            seen.append((event, time.monotonic()))
        served = server.served[0]
    assert [e for e, _ in seen] == [
        TextDelta("Hello"),
        TextDelta(" there."),
        TextDelta(" Bye."),
        Finished("stop", 21, 3),
    ]
    # the first piece was in our hands before the server wrote the last one
    assert seen[0][1] < served.written_at[-1]
    print(
        f"\nfirst piece read {seen[0][1] - served.written_at[0]:.4f} s after written; stream ended "
        f"{served.ended_at - seen[0][1]:.3f} s later"
    )
    assert served.body["stream"] is True and served.body["stream_options"] == {"include_usage": True}
    assert served.body["messages"] == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]
    assert (served.body["max_tokens"], served.body["temperature"], served.body["model"]) == (50, 0.5, "local-model")


def test_tool_calls_split_over_chunks_and_the_results_go_back(monkeypatch):
    monkeypatch.setenv("TEST_LLM_KEY", "sk-local-123")
    replies = [Reply(["One moment."], tool_calls=[("weather", {"city": "Berlin"})]), Reply(["It is sunny in Berlin."])]
    with model_server(*replies) as server:
        provider = provider_for(
            "openai", LlmSettings(provider="openai", base_url=server.base_url, api_key="env:TEST_LLM_KEY")
        )
        spoken, usage = [], Usage()
        result = answer(
            provider,
            ask(tools=(WEATHER,)),
            {"weather": Tool(WEATHER, lambda args, _left: {"city": args["city"], "sky": "sunny"})},
            on_sentence=spoken.append,
            min_sentence_chars=1,
            usage=usage,
        )
        first, second = server.served
    assert spoken == ["One moment.", "It is sunny in Berlin."]
    assert result.text == "One moment.\nIt is sunny in Berlin." and (usage.calls, usage.tokens_in) == (2, 24)
    assert first.headers["authorization"] == "Bearer sk-local-123"
    assert first.body["tools"] == [
        {
            "type": "function",
            "function": {"name": "weather", "description": "Weather in a city", "parameters": WEATHER.parameters},
        }
    ]
    assert second.body["messages"][2:] == [
        {
            "role": "assistant",
            "content": "One moment.",
            "tool_calls": [
                {"id": "call_0", "type": "function", "function": {"name": "weather", "arguments": '{"city": "Berlin"}'}}
            ],
        },
        {"role": "tool", "tool_call_id": "call_0", "content": '{"city": "Berlin", "sky": "sunny"}'},
    ]


def test_a_server_error_is_a_model_error():
    with model_server(Reply(status=503)) as server, pytest.raises(ModelError, match="HTTP 503"):
        list(OpenAiProvider(base_url=server.base_url).stream(ask()))


def test_a_stalled_stream_runs_into_the_timeout():
    with model_server(Reply(["slow"], delay=2.0)) as server:
        with pytest.raises(ModelError, match="timed out"):
            list(OpenAiProvider(base_url=server.base_url).stream(ask(timeout_seconds=0.3)))
        assert server.served[0].written_at == []  # we gave up before the model wrote anything


def test_nothing_listening_is_a_model_error():
    with model_server() as server:
        url = server.base_url
    with pytest.raises(ModelError):
        list(OpenAiProvider(base_url=url).stream(ask(timeout_seconds=1)))


def test_the_step_budget_ends_a_tool_loop():
    loop = [Reply(tool_calls=[("weather", {"city": "X"})]) for _ in range(3)]
    with model_server(*loop) as server:
        provider = OpenAiProvider(base_url=server.base_url)
        with pytest.raises(ModelError, match="step budget"):
            answer(provider, ask(tools=(WEATHER,)), {"weather": Tool(WEATHER, lambda a, s: {})}, max_steps=2)
        assert len(server.served) == 2


def test_providers_are_kept_per_settings_and_made_anew_after_a_reset():
    from audiocodes_endpoint.features.llm.providers import reset_clients

    settings = LlmSettings(provider="openai", base_url="http://127.0.0.1:9/v1")
    first = provider_for("openai", settings)
    assert provider_for("openai", settings) is first
    assert provider_for("openai", settings.model_copy(update={"model": "other"})) is not first
    reset_clients()
    assert provider_for("openai", settings) is not first
