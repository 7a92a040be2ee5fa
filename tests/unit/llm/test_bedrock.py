"""The Bedrock provider through botocore's Stubber: the Converse requests it makes, and the
``converse_stream`` event stream parsed by botocore from its wire bytes."""

import pytest

from audiocodes_endpoint.adapters.aws.bedrock import BedrockProvider
from audiocodes_endpoint.features.llm.agent import Tool, answer
from audiocodes_endpoint.features.llm.types import (
    Finished,
    ModelError,
    ModelRequest,
    TextDelta,
    ToolCall,
    ToolSpec,
    Usage,
)
from tests.unit.llm.eventstream import (
    EventStreamStubber,
    bedrock_client,
    converse_stream,
    encode,
    event_stream,
    text_events,
)

BALANCE = ToolSpec(
    "get_balance", "The caller's balance", {"type": "object", "properties": {"account": {"type": "string"}}}
)


def stubbed(**options):
    client = bedrock_client()
    return BedrockProvider(client=client, **options), EventStreamStubber(client)


def request(**more):
    return ModelRequest(
        model="eu.amazon.nova-lite-v1:0",
        system="Be brief.",
        messages=[{"role": "user", "content": "What is my balance?"}],
        max_tokens=300,
        **more,
    )


def test_streamed_text_usage_and_the_converse_stream_request():
    provider, stub = stubbed(guardrail_id="gr-123", guardrail_version="2")
    expected = {
        "modelId": "eu.amazon.nova-lite-v1:0",
        "messages": [{"role": "user", "content": [{"text": "What is my balance?"}]}],
        "system": [{"text": "Be brief."}],
        "inferenceConfig": {"maxTokens": 300, "temperature": 0.2},
        "toolConfig": {
            "tools": [
                {
                    "toolSpec": {
                        "name": "get_balance",
                        "description": "The caller's balance",
                        "inputSchema": {"json": BALANCE.parameters},
                    }
                }
            ]
        },
        "guardrailConfig": {"guardrailIdentifier": "gr-123", "guardrailVersion": "2", "streamProcessingMode": "sync"},
    }
    stub.add_response(
        "converse_stream", {"stream": converse_stream(text_events("Your balance ", "is 12 euros."))}, expected
    )
    with stub:
        events = list(provider.stream(request(temperature=0.2, tools=(BALANCE,))))
    stub.assert_no_pending_responses()
    assert events == [TextDelta("Your balance "), TextDelta("is 12 euros."), Finished("end_turn", 11, 7)]


def test_a_tool_use_block_streamed_in_pieces_becomes_one_call():
    provider, stub = stubbed()
    events = [
        ("messageStart", {"role": "assistant"}),
        ("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "Let me check."}}),
        ("contentBlockStop", {"contentBlockIndex": 0}),
        (
            "contentBlockStart",
            {"contentBlockIndex": 1, "start": {"toolUse": {"toolUseId": "t1", "name": "get_balance"}}},
        ),
        ("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"toolUse": {"input": '{"acco'}}}),
        ("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"toolUse": {"input": 'unt": "12345"}'}}}),
        ("contentBlockStop", {"contentBlockIndex": 1}),
        ("messageStop", {"stopReason": "tool_use"}),
        ("metadata", {"usage": {"inputTokens": 30, "outputTokens": 9, "totalTokens": 39}, "metrics": {"latencyMs": 1}}),
    ]
    stub.add_response("converse_stream", {"stream": converse_stream(events, chunk=3)})
    with stub:
        got = list(provider.stream(request(tools=(BALANCE,))))
    assert got == [
        TextDelta("Let me check."),
        ToolCall("t1", "get_balance", {"account": "12345"}),
        Finished("tool_use", 30, 9),
    ]


def test_the_tool_loop_sends_results_back_as_tool_result_blocks():
    provider, stub = stubbed()
    use = [
        (
            "contentBlockStart",
            {"contentBlockIndex": 0, "start": {"toolUse": {"toolUseId": "t1", "name": "get_balance"}}},
        ),
        ("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"toolUse": {"input": '{"account": "1"}'}}}),
        ("contentBlockStop", {"contentBlockIndex": 0}),
        ("messageStop", {"stopReason": "tool_use"}),
        ("metadata", {"usage": {"inputTokens": 20, "outputTokens": 5, "totalTokens": 25}, "metrics": {"latencyMs": 1}}),
    ]
    stub.add_response("converse_stream", {"stream": converse_stream(use)})
    second = {
        "modelId": "eu.amazon.nova-lite-v1:0",
        "system": [{"text": "Be brief."}],
        "inferenceConfig": {"maxTokens": 300},
        "toolConfig": {
            "tools": [
                {
                    "toolSpec": {
                        "name": "get_balance",
                        "description": "The caller's balance",
                        "inputSchema": {"json": BALANCE.parameters},
                    }
                }
            ]
        },
        "messages": [
            {"role": "user", "content": [{"text": "What is my balance?"}]},
            {
                "role": "assistant",
                "content": [{"toolUse": {"toolUseId": "t1", "name": "get_balance", "input": {"account": "1"}}}],
            },
            {
                "role": "user",
                "content": [
                    {"toolResult": {"toolUseId": "t1", "content": [{"json": {"euros": 12}}], "status": "success"}}
                ],
            },
        ],
    }
    stub.add_response("converse_stream", {"stream": converse_stream(text_events("You have 12 euros."))}, second)
    usage, spoken = Usage(), []
    with stub:
        result = answer(
            provider,
            request(tools=(BALANCE,)),
            {"get_balance": Tool(BALANCE, lambda args, _left: {"euros": 12})},
            on_sentence=spoken.append,
            min_sentence_chars=1,
            usage=usage,
        )
    stub.assert_no_pending_responses()
    assert result.text == "You have 12 euros." and result.tool_calls == ["get_balance"] and spoken == [result.text]
    assert (usage.tokens_in, usage.tokens_out, usage.calls) == (31, 12, 2)


def test_an_answer_nobody_hears_as_it_streams_uses_converse_tools_and_the_guardrail_included():
    provider, stub = stubbed(guardrail_id="gr-9")
    base = {
        "modelId": "eu.amazon.nova-lite-v1:0",
        "system": [{"text": "Be brief."}],
        "inferenceConfig": {"maxTokens": 300},
        "toolConfig": {
            "tools": [
                {
                    "toolSpec": {
                        "name": "get_balance",
                        "description": "The caller's balance",
                        "inputSchema": {"json": BALANCE.parameters},
                    }
                }
            ]
        },
        "guardrailConfig": {"guardrailIdentifier": "gr-9", "guardrailVersion": "DRAFT"},
    }
    use = {"toolUse": {"toolUseId": "t7", "name": "get_balance", "input": {"account": "9"}}}
    stub.add_response(
        "converse",
        {
            "output": {"message": {"role": "assistant", "content": [{"text": "Checking."}, use]}},
            "stopReason": "tool_use",
            "usage": {"inputTokens": 5, "outputTokens": 3, "totalTokens": 8},
            "metrics": {"latencyMs": 1},
        },
        {**base, "messages": [{"role": "user", "content": [{"text": "What is my balance?"}]}]},
    )
    result_block = {"toolResult": {"toolUseId": "t7", "content": [{"json": {"result": 12}}], "status": "success"}}
    stub.add_response(
        "converse",
        {
            "output": {"message": {"role": "assistant", "content": [{"text": "12 euros."}]}},
            "stopReason": "end_turn",
            "usage": {"inputTokens": 9, "outputTokens": 2, "totalTokens": 11},
            "metrics": {"latencyMs": 1},
        },
        {
            **base,
            "messages": [
                {"role": "user", "content": [{"text": "What is my balance?"}]},
                {"role": "assistant", "content": [{"text": "Checking."}, use]},
                {"role": "user", "content": [result_block]},
            ],
        },
    )
    with stub:
        result = answer(provider, request(tools=(BALANCE,)), {"get_balance": Tool(BALANCE, lambda args, _left: 12)})
    stub.assert_no_pending_responses()
    assert result.text == "Checking.\n12 euros." and result.tool_calls == ["get_balance"]


def test_an_exception_inside_the_stream_is_a_model_error():
    provider, stub = stubbed()
    data = encode("messageStart", {"role": "assistant"}) + encode(
        "modelStreamErrorException", {"message": "the model broke"}, message_type="exception"
    )
    stub.add_response("converse_stream", {"stream": event_stream(data)})
    with stub, pytest.raises(ModelError, match="model broke"):
        list(provider.stream(request()))


def test_a_refused_call_is_a_model_error():
    provider, stub = stubbed()
    stub.add_client_error("converse_stream", "AccessDeniedException", "no access to the model", 403)
    with stub, pytest.raises(ModelError, match="AccessDenied"):
        list(provider.stream(request()))


def test_converse_without_streaming_gives_the_same_events():
    provider, stub = stubbed()
    stub.add_response(
        "converse",
        {
            "output": {"message": {"role": "assistant", "content": [{"text": "Hello."}]}},
            "stopReason": "guardrail_intervened",
            "usage": {"inputTokens": 4, "outputTokens": 2, "totalTokens": 6},
            "metrics": {"latencyMs": 3},
        },
        {
            "modelId": "eu.amazon.nova-lite-v1:0",
            "messages": [{"role": "user", "content": [{"text": "What is my balance?"}]}],
            "system": [{"text": "Be brief."}],
            "inferenceConfig": {"maxTokens": 300},
        },
    )
    with stub:
        assert provider.complete(request()) == [TextDelta("Hello."), Finished("guardrail_intervened", 4, 2)]
