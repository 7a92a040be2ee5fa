"""The HTTP node against a real server on 127.0.0.1, and the private-network guard."""

from __future__ import annotations

import ipaddress
import socket
from pathlib import Path
from typing import Any

import pytest

from audiocodes_endpoint.flows import FlowError, TurnOptions
from audiocodes_endpoint.flows.netguard import BlockedAddress, is_public, resolve

from .support import Call, build_agent, say

FLOW = """
start: req
nodes:
  req:
    type: http
{node}
    store: result
    on_error: failed
    next: ok
  ok: {{type: say, text: "ok {{{{ context.result.status }}}}"}}
  failed: {{type: say, text: "failed: {{{{ context.result.error }}}}"}}
"""


def run(tmp_path: Path, node: str, options: TurnOptions, context: dict[str, Any] | None = None) -> Call:
    call = Call(build_agent(tmp_path, FLOW.format(node=node)), options=options, context=context)
    call.outputs = call.start()  # type: ignore[attr-defined]
    return call


ALLOW = TurnOptions(allow_private_network=True, variables={"token": "s3cret"})
DENY = TurnOptions(allow_private_network=False)


def test_get_json_into_context(tmp_path: Path, http_stub: str) -> None:
    # Given a GET with a templated URL, When it runs against the local stub (private network allowed)
    call = run(tmp_path, f'    url: "{http_stub}/accounts/{{{{ context.id }}}}"', ALLOW, {"id": "1234"})
    # Then the parsed JSON and status are stored and the flow continues at next
    assert call.outputs == [say("ok 200")]  # type: ignore[attr-defined]
    result = call.context["result"]
    assert result["ok"] is True and result["status"] == 200
    assert result["body"] == {"id": "1234", "name": "Ada", "balance": 1234.5, "currency": "EUR"}
    assert result["headers"]["content-type"] == "application/json"


def test_post_json_body_headers_and_query(tmp_path: Path, http_stub: str, stub_requests: list[Any]) -> None:
    # Given a POST with headers from variables, a query and a JSON body with native values
    node = f"""    method: POST
    url: {http_stub}/echo
    headers: {{Authorization: "Bearer {{{{ variables.token }}}}"}}
    query: {{q: "a b", n: "{{{{ 1 + 1 }}}}"}}
    body: {{n: "{{{{ 40 + 2 }}}}", name: "x", list: [1, 2]}}"""
    call = run(tmp_path, node, ALLOW)
    # Then the server got them, and answered 201
    assert call.outputs == [say("ok 201")]  # type: ignore[attr-defined]
    assert call.context["result"]["body"] == {
        "received": {"n": 42, "name": "x", "list": [1, 2]},
        "auth": "Bearer s3cret",
    }
    assert stub_requests[-1]["path"] == "/echo?q=a+b&n=2"


def test_not_found_goes_to_on_error_with_status(tmp_path: Path, http_stub: str) -> None:
    call = run(tmp_path, f"    url: {http_stub}/accounts/0000", ALLOW)
    assert call.outputs == [say("failed: HTTP 404")]  # type: ignore[attr-defined]
    assert call.context["result"]["status"] == 404
    assert call.context["result"]["body"] == {"error": "not found"}


def test_json_that_cannot_be_stored_is_kept_as_text(tmp_path: Path, http_stub: str) -> None:
    from audiocodes_endpoint.channel.decoding import storable

    # Given an API answering JSON with a lone surrogate and 5,000 levels of nesting
    call = run(tmp_path, f"    url: {http_stub}/not-unicode", ALLOW)
    # Then the turn goes on, with the body as the text it was (which a session can store)
    assert call.outputs == [say("ok 200")]  # type: ignore[attr-defined]
    body = call.context["result"]["body"]
    assert isinstance(body, str) and body.startswith('{"name": "Ada \\ud800"') and storable(body)


def test_plain_text_body(tmp_path: Path, http_stub: str) -> None:
    call = run(tmp_path, f"    url: {http_stub}/text", ALLOW)
    assert call.context["result"]["body"] == "plain words"


def test_timeout_goes_to_on_error(tmp_path: Path, http_stub: str) -> None:
    # Given a slow server and a short timeout
    call = run(tmp_path, f"    url: {http_stub}/accounts/1234?delay_ms=1000\n    timeout_seconds: 0.2", ALLOW)
    # Then the error branch, with a timeout message
    assert call.outputs == [say("failed: timed out after 0.2 s")]  # type: ignore[attr-defined]


def test_endpoint_timeout_caps_the_node_timeout(tmp_path: Path, http_stub: str) -> None:
    options = TurnOptions(allow_private_network=True, http_timeout_seconds=0.2)
    call = run(tmp_path, f"    url: {http_stub}/accounts/1234?delay_ms=1000\n    timeout_seconds: 30", options)
    assert call.outputs == [say("failed: timed out after 0.2 s")]  # type: ignore[attr-defined]


def test_redirects_are_not_followed(tmp_path: Path, http_stub: str) -> None:
    # Given a server answering 302 to the metadata address, Then the 302 itself is the result
    call = run(tmp_path, f"    url: {http_stub}/redirect", ALLOW)
    assert call.context["result"]["status"] == 302


def test_oversized_response_is_an_error(tmp_path: Path, http_stub: str) -> None:
    call = run(tmp_path, f"    url: {http_stub}/big", ALLOW)
    assert "larger than" in call.context["result"]["error"]


def test_private_address_is_refused_without_permission(
    tmp_path: Path, http_stub: str, stub_requests: list[Any]
) -> None:
    # Given the endpoint does not allow private network access
    call = run(tmp_path, f"    url: {http_stub}/accounts/1234", DENY)
    # Then the request is never made and the error branch explains why
    assert stub_requests == []
    assert call.context["result"]["ok"] is False
    assert "private or reserved address (127.0.0.1)" in call.context["result"]["error"]


def test_failure_without_on_error_fails_the_turn(tmp_path: Path, http_stub: str) -> None:
    flow = f"start: r\nnodes:\n  r: {{type: http, url: '{http_stub}/accounts/0000'}}\n"
    with pytest.raises(FlowError, match=r"node 'r' \(http\): HTTP GET failed: HTTP 404"):
        Call(build_agent(tmp_path, flow), options=ALLOW).start()


def test_non_http_scheme_is_refused(tmp_path: Path) -> None:
    call = run(tmp_path, '    url: "file:///etc/passwd"', ALLOW)
    assert "only absolute http(s) URLs" in call.context["result"]["error"]


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0",
        "224.0.0.1", "240.0.0.1", "::1", "fe80::1", "fc00::1", "fd12::1", "::ffff:10.0.0.1", "2002:0a00:0001::",
        "198.18.0.1", "192.0.2.1",
    ],
)  # fmt: skip
def test_internal_ranges_are_not_public(address: str) -> None:
    assert not is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "address",
    [
        # NAT64 well-known prefix (RFC 6052) embedding loopback, private, link-local, shared addresses
        "64:ff9b::127.0.0.1", "64:ff9b::10.0.0.1", "64:ff9b::a9fe:a9fe", "64:ff9b::192.168.1.1", "64:ff9b::100.64.0.1",
        # NAT64 local-use prefix (RFC 8215): where it leads is the operator's choice, so all of it
        "64:ff9b:1::8.8.8.8", "64:ff9b:1:ffff::1",
        # IPv4-compatible (deprecated, RFC 4291 2.5.5.1), whatever they embed
        "::127.0.0.1", "::10.0.0.1", "::169.254.169.254", "::8.8.8.8",
        # IPv4-mapped with a private address, and 6to4 embedding loopback
        "::ffff:127.0.0.1", "::ffff:169.254.169.254", "2002:7f00:1::",
    ],
)  # fmt: skip
def test_ipv6_forms_embedding_internal_ipv4_are_not_public(address: str) -> None:
    assert not is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "address",
    ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::8.8.8.8", "64:ff9b::5db8:d822"],
)
def test_internet_addresses_are_public(address: str) -> None:
    # A DNS64 resolver (IPv6-only Lambda subnets) answers 64:ff9b::<public IPv4> for IPv4-only hosts
    assert is_public(ipaddress.ip_address(address))


def test_a_nat64_name_for_the_metadata_service_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket, "getaddrinfo", _fake_dns(["64:ff9b::a9fe:a9fe"]))
    with pytest.raises(BlockedAddress, match="private or reserved"):
        resolve("http://metadata.example/latest/", allow_private_network=False)


def _fake_dns(answers: list[str]) -> Any:
    def getaddrinfo(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        family = socket.AF_INET6
        return [(family if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in answers]

    return getaddrinfo


def test_a_name_resolving_to_any_private_address_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given DNS that answers one public and one private address
    monkeypatch.setattr(socket, "getaddrinfo", _fake_dns(["93.184.216.34", "10.0.0.7"]))
    # Then the name is refused
    with pytest.raises(BlockedAddress, match=r"10\.0\.0\.7"):
        resolve("https://api.example.com/x", allow_private_network=False)


def test_the_checked_address_is_the_one_connected_to(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given DNS answering a public address
    monkeypatch.setattr(socket, "getaddrinfo", _fake_dns(["93.184.216.34"]))
    # Then the request URL is pinned to it, with Host and TLS name kept (no second lookup to rebind)
    target = resolve("https://api.example.com:8443/v1/x?y=1", allow_private_network=False)
    assert target.url == "https://93.184.216.34:8443/v1/x?y=1"
    assert target.host_header == "api.example.com:8443"
    assert target.sni_hostname == "api.example.com"


def test_ipv6_literal_is_bracketed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket, "getaddrinfo", _fake_dns(["2606:4700:4700::1111"]))
    assert resolve("http://one.example/", allow_private_network=False).url == "http://[2606:4700:4700::1111]/"
