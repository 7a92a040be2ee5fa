"""Refuse outbound requests to internal addresses (SSRF protection for the HTTP node).

A flow's URL may be built from caller input, and the endpoint runs inside someone's VPC: without a
check, ``http://169.254.169.254/`` (instance metadata) or ``http://10.0.0.5/admin`` would be one
template away. We resolve the host once, refuse it if *any* address is not globally routable
(loopback, private, link-local, unique-local, shared, reserved, multicast, unspecified, or an IPv6
form embedding such an IPv4 address: mapped, 6to4, NAT64; IPv4-compatible and local-use NAT64
addresses are refused whatever they embed), and then
connect to the address we checked, so a second DNS answer cannot swap in another one (rebinding).
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit


class BlockedAddress(Exception):
    pass


@dataclass(frozen=True)
class Target:
    url: str  # what to request: the checked IP in place of the host name, if pinned
    host_header: str | None  # the original Host, when the URL was rewritten
    sni_hostname: str | None  # TLS server name, when the URL was rewritten


# IPv6 forms that lead to an IPv4 address, which Python's ``is_global`` does not look into:
# NAT64's well-known prefix (RFC 6052) embeds it in the last 32 bits; a DNS64 resolver (an IPv6-only
# Lambda subnet) answers it for every IPv4-only host, so it is judged by the address it embeds.
_NAT64_WELL_KNOWN = ipaddress.IPv6Network("64:ff9b::/96")
# Refused whole: NAT64's local-use prefix (RFC 8215; where it leads is the operator's choice) and the
# deprecated IPv4-compatible addresses ``::a.b.c.d`` (RFC 4291 2.5.5.1; some stacks route them as IPv4).
_REFUSED_V6 = (ipaddress.IPv6Network("64:ff9b:1::/48"), ipaddress.IPv6Network("::/96"))


def is_public(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address):
        if any(address in network for network in _REFUSED_V6):
            return False
        if address in _NAT64_WELL_KNOWN:
            return is_public(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
        mapped = address.ipv4_mapped or address.sixtofour
        if mapped is not None:
            return is_public(mapped)
    return address.is_global and not address.is_multicast


def resolve(url: str, *, allow_private_network: bool) -> Target:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BlockedAddress(f"only absolute http(s) URLs are allowed, not {url!r}")
    if allow_private_network:
        return Target(url=url, host_header=None, sni_hostname=None)
    host = parts.hostname
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as error:
        raise BlockedAddress(f"cannot resolve {host!r}: {error}") from None
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    blocked = [str(a) for a in addresses if not is_public(a)]
    if not addresses or blocked:
        raise BlockedAddress(
            f"{host!r} resolves to a private or reserved address ({', '.join(blocked) or 'none'}); "
            "the endpoint does not allow private network access"
        )
    chosen = addresses[0]
    literal = f"[{chosen}]" if chosen.version == 6 else str(chosen)
    netloc = f"{literal}:{parts.port}" if parts.port else literal
    host_header = parts.netloc.rsplit("@", 1)[-1]
    pinned = urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))
    return Target(url=pinned, host_header=host_header, sni_hostname=host if parts.scheme == "https" else None)
