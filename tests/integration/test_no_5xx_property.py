"""Property: whatever a client sends, the Bot API answers with a JSON body and never a 5xx."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.conftest import TOKEN

EXAMPLES = 1200
CONVERSATIONS = ["c-live", "c-live", "unknown", "", "a b", "x" * 200, "%2e%2e", "../demo"]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
activity = st.fixed_dictionaries(
    {},
    optional={
        "id": st.text(max_size=40) | st.integers(),
        "type": st.sampled_from(["message", "event", "typing", ""]) | json_values,
        "name": st.sampled_from(["start", "DTMF", "dtmf", "noUserInput", "transferStatus", "weird"]) | json_values,
        "text": st.text(max_size=60) | json_values,
        "value": json_values,
        "parameters": st.dictionaries(st.sampled_from(["caller", "confidence", "callee"]), json_values) | json_values,
        "timestamp": st.text(max_size=30),
    },
)
bodies = st.one_of(
    json_values.map(json.dumps),
    st.fixed_dictionaries({"activities": st.lists(activity, max_size=3)}).map(json.dumps),
    st.fixed_dictionaries({"conversation": st.sampled_from(CONVERSATIONS) | json_values}).map(json.dumps),
    st.fixed_dictionaries({"reasonCode": json_values, "reason": json_values}).map(json.dumps),
    st.binary(max_size=60).map(lambda b: b.decode("latin-1")),
    st.just(""),
)
paths = st.one_of(
    st.sampled_from(["/", "/demo", "/demo/", "/nope", "/demo/conversation", "/demo/conversation/c-live"]),
    st.builds(
        lambda c, r: f"/demo/conversation/{c}/{r}",
        st.sampled_from(CONVERSATIONS),
        st.sampled_from(["activities", "refresh", "disconnect", "other", ""]),
    ),
    st.text(alphabet="/abcdemo-_.%", max_size=30).map(lambda p: "/" + p),
)
auth = st.sampled_from([f"Bearer {TOKEN}", TOKEN, f"Bearer {TOKEN}", "Bearer wrong", "", "Basic abc", None])


def test_no_request_gets_a_5xx(call: Any) -> None:
    # Given a live conversation to aim at
    assert call("POST", "/demo", {"conversation": "c-live"})[0] == 200
    seen = {"requests": 0, "statuses": set()}

    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(
        method=st.sampled_from(["GET", "POST", "POST", "PUT", "DELETE", "PATCH"]), path=paths, body=bodies, token=auth
    )
    def request(method: str, path: str, body: str, token: str | None) -> None:
        headers = {} if token is None else {"authorization": token}
        status, answer = call(method, path, token=None, raw_body=body.encode(), headers=headers)
        seen["requests"] += 1
        seen["statuses"].add(status)
        assert status < 500, (method, path, body, status, answer)
        assert isinstance(answer, dict)

    request()
    # Then at least a thousand requests were made, across success and every client-error class
    assert seen["requests"] >= 1000
    assert {200, 400, 401, 404, 405} <= seen["statuses"]
