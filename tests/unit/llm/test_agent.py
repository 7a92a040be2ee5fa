"""The answer loop's error boundary: the provider's surprises become ModelError (the node's fallback),
while a failure of the loop's own callback (a push that could not be made) passes through as it is."""

import pytest

from audiocodes_endpoint.features.llm.agent import answer
from audiocodes_endpoint.features.llm.types import Finished, ModelError, ModelRequest, TextDelta

REQUEST = ModelRequest(model="m", system="", messages=[{"role": "user", "content": "hi"}])


class Broken:
    def stream(self, request):
        yield TextDelta("Half a sentence")
        raise RuntimeError("connection reset in a place nobody expected")


class Talking:
    def stream(self, request):
        yield TextDelta("A sentence that is long enough. ")
        yield TextDelta("And another one after it.")
        yield Finished("stop")


def test_an_unexpected_provider_error_is_a_model_error():
    with pytest.raises(ModelError, match="RuntimeError: connection reset"):
        answer(Broken(), REQUEST, {})


def test_a_failing_push_is_not_turned_into_a_model_error():
    class PushFailed(Exception):
        pass

    def push(sentence):
        raise PushFailed(sentence)

    with pytest.raises(PushFailed, match=r"A sentence that is long enough\."):
        answer(Talking(), REQUEST, {}, on_sentence=push)
