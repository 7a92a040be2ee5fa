"""What OAuth 2.0 bot authentication costs per request, against the permanent token (same run)."""

from __future__ import annotations

import statistics
import time
from typing import Any


def measure(requests: int = 2000) -> dict[str, Any]:
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "devtools"))
    from audiocodes_devtools.oauth_issuer import LocalIssuer
    from audiocodes_endpoint.channel.bot_auth import BotAuthenticator
    from audiocodes_endpoint.config.endpoint import EndpointSettings, OAuth2Settings

    issuer = LocalIssuer().start()
    try:
        oauth = OAuth2Settings(
            issuer=issuer.url, audience="audiocodes-endpoint", scopes=["bot-api"], jwks_url=f"{issuer.url}/jwks.json"
        )
        endpoints = {
            "token": EndpointSettings(name="t", url_token="t", flow="main", bot_token="env:BENCH_BOT_TOKEN"),
            "oauth2": EndpointSettings(name="o", url_token="o", flow="main", auth="oauth2", oauth2=oauth),
        }
        import os

        os.environ["BENCH_BOT_TOKEN"] = "a-long-random-permanent-token"
        headers = {
            "token": {"Authorization": "Bearer a-long-random-permanent-token"},
            "oauth2": {"Authorization": f"Bearer {issuer.token()}"},
        }
        authenticator = BotAuthenticator()
        started = time.perf_counter()
        assert authenticator.check(endpoints["oauth2"], headers["oauth2"]).allowed
        first_ms = (time.perf_counter() - started) * 1000
        timings: dict[str, list[float]] = {"token": [], "oauth2": []}
        for _ in range(requests):
            for mode in ("token", "oauth2"):  # interleaved: both see the same machine load
                started = time.perf_counter()
                assert authenticator.check(endpoints[mode], headers[mode]).allowed
                timings[mode].append((time.perf_counter() - started) * 1_000_000)
    finally:
        issuer.stop()
    return {"requests": requests, "first_ms": first_ms, **{m: _us(v) for m, v in timings.items()}}


def _us(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {"median": statistics.median(ordered), "p99": ordered[int(len(ordered) * 0.99) - 1]}


def render(result: dict[str, Any]) -> str:
    token, oauth = result["token"], result["oauth2"]
    return f"""## Bot authentication: permanent token vs OAuth 2.0 (per request)

{result["requests"]} checks of each, interleaved, keys cached (RS256, 2048-bit, PyJWT):

| mode | median (µs) | p99 (µs) |
|---|---|---|
| permanent token (constant-time compare) | {token["median"]:.0f} | {token["p99"]:.0f} |
| OAuth 2.0 JWT (signature, exp/nbf/iss/aud, scopes) | {oauth["median"]:.0f} | {oauth["p99"]:.0f} |

- OAuth / token (median): **{oauth["median"] / token["median"]:.1f}x**; the first OAuth request of a process also
  imports PyJWT and fetches the JWKS: {result["first_ms"]:.0f} ms (local issuer).
"""
