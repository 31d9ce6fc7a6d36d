"""Client-facing scheme, host and address from a trusted proxy's headers.

Behind a load balancer the links we return must use the URL the client used. We take it from
`Forwarded` (RFC 7239) or `X-Forwarded-Proto/-Host/-Port/-For`, but only when the TCP peer is in
FORWARDED_ALLOW_IPS; from anyone else these headers are ignored. uvicorn's own --proxy-headers
handles neither `X-Forwarded-Host` nor `Forwarded`, and once it has rewritten the peer address
this could no longer tell who sent the headers, so the server runs with --no-proxy-headers and
this is the one place that trusts a proxy.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Hashable
from dataclasses import dataclass

from starlette.types import Scope

from app.memo import remembered_call

# A host name or bracketed IPv6 literal with an optional port: nothing that could smuggle a path,
# a second header or markup into the links we build.
HOST_PATTERN = re.compile(r"^(?:[A-Za-z0-9][A-Za-z0-9.-]{0,252}|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$")
DEFAULT_PORTS = {"http": 80, "https": 443}
REMEMBERED_PEERS = 1024

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class TrustedPeers:
    """FORWARDED_ALLOW_IPS: addresses or networks, or '*' for any peer."""

    def __init__(self, entries: list[str]) -> None:
        self.any = "*" in entries
        self.networks: list[Network] = [
            ipaddress.ip_network(e, strict=False) for e in entries if e != "*"
        ]
        # Every request asks about its peer, and parsing an address is most of what that
        # costs; the peers are few (the load balancer's nodes), so answers are kept.
        self._answers: dict[Hashable, bool] = {}

    def __contains__(self, host: str) -> bool:
        if self.any:
            return True
        # Every request asks: no partial made for a known peer.
        return remembered_call(self._answers, host, REMEMBERED_PEERS, self._is_trusted, host)

    def _is_trusted(self, host: str) -> bool:
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self.networks)


@dataclass
class Forwarded:
    proto: str | None = None
    host: str | None = None
    port: str | None = None
    clients: tuple[str, ...] = ()


def _last(value: str | None) -> str | None:
    """The right-most value of a list header: the one our own (trusted) proxy wrote."""
    if not value:
        return None
    return value.split(",")[-1].strip() or None


def _parse_rfc7239(value: str) -> Forwarded:
    elements = []
    for element in value.split(","):
        pairs = {}
        for pair in element.split(";"):
            key, _, val = pair.strip().partition("=")
            pairs[key.lower()] = val.strip().strip('"')
        elements.append(pairs)
    clients = tuple(e["for"].strip("[]") for e in elements if e.get("for"))
    last = elements[-1]
    return Forwarded(proto=last.get("proto"), host=last.get("host"), clients=clients)


def _parse_x_forwarded(headers: dict[bytes, bytes]) -> Forwarded:
    def get(name: bytes) -> str | None:
        raw = headers.get(name)
        return raw.decode("latin-1") if raw is not None else None

    forwarded_for = get(b"x-forwarded-for") or ""
    return Forwarded(
        proto=_last(get(b"x-forwarded-proto")),
        host=_last(get(b"x-forwarded-host")),
        port=_last(get(b"x-forwarded-port")),
        clients=tuple(c.strip() for c in forwarded_for.split(",") if c.strip()),
    )


FORWARDING_HEADERS = frozenset(
    {b"forwarded", *(b"x-forwarded-" + name for name in (b"for", b"proto", b"host", b"port"))}
)


class ProxyHeaders:
    """Rewrites a request's scheme, Host header and client for trusted peers only (the edge,
    app/edge.py, applies it to every request before anything reads the URL)."""

    def __init__(self, trusted: list[str]) -> None:
        self.trusted = TrustedPeers(trusted)

    def applied(self, scope: Scope) -> Scope:
        """The scope as the client sent it to the proxy: a new one when a trusted peer forwarded
        the request, else `scope` itself."""
        client = scope.get("client")
        if not client or client[0] not in self.trusted:
            return scope
        if not any(name in FORWARDING_HEADERS for name, _ in scope["headers"]):
            return scope  # a trusted peer, connecting on its own behalf (a probe, say)
        headers = dict(scope["headers"])
        raw = headers.get(b"forwarded")
        forwarded = _parse_rfc7239(raw.decode("latin-1")) if raw else _parse_x_forwarded(headers)
        return self._apply(dict(scope), headers, forwarded)

    def _apply(self, scope: Scope, headers: dict[bytes, bytes], fwd: Forwarded) -> Scope:
        if fwd.proto and fwd.proto.lower() in DEFAULT_PORTS:
            scope["scheme"] = fwd.proto.lower()
        host = fwd.host or headers.get(b"host", b"").decode("latin-1")
        if fwd.port and fwd.port.isdigit() and ":" not in host.rsplit("]", 1)[-1]:
            if int(fwd.port) != DEFAULT_PORTS.get(scope["scheme"]):
                host = f"{host}:{fwd.port}"
        if host and HOST_PATTERN.match(host):
            others = [(k, v) for k, v in scope["headers"] if k != b"host"]
            scope["headers"] = [(b"host", host.encode("latin-1")), *others]
        client = self._client(fwd.clients)
        if client:
            scope["client"] = (client, 0)
        return scope

    def _client(self, chain: tuple[str, ...]) -> str | None:
        """The right-most address not of a trusted proxy: the one no client can forge."""
        for address in reversed(chain):
            if address not in self.trusted:
                return address
        return chain[0] if chain else None
