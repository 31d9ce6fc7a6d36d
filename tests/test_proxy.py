"""Links follow the client-facing URL from a trusted proxy's headers, and only from one."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from app.proxy import REMEMBERED_PEERS, TrustedPeers

ALB = ("10.0.3.7", 41000)
ALB_HEADERS = {
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "features.example.org",
    "X-Forwarded-Port": "443",
    "X-Forwarded-For": "203.0.113.9",
}


def self_and_next(client: TestClient, headers: dict[str, str]) -> list[str]:
    body = client.get(
        "/collections/public.fire_lines/items", params={"limit": 2}, headers=headers
    ).json()
    return [link["href"] for link in body["links"] if link["rel"] in ("self", "next")]


@pytest.fixture(scope="module")
def behind_alb(make_app: Callable[..., Any]) -> Any:
    app = make_app(forwarded_allow_ips=["10.0.0.0/16"])
    with TestClient(app, client=ALB) as test_client:
        yield test_client


def test_trusted_proxy_sets_scheme_and_host(behind_alb: TestClient) -> None:
    links = self_and_next(behind_alb, ALB_HEADERS)
    assert len(links) == 2
    assert all(h.startswith("https://features.example.org/collections/") for h in links)
    landing = behind_alb.get("/", headers=ALB_HEADERS).json()
    assert all(
        link["href"].startswith("https://features.example.org/") for link in landing["links"]
    )


def test_non_default_port_is_kept(behind_alb: TestClient) -> None:
    headers = {**ALB_HEADERS, "X-Forwarded-Port": "8443"}
    assert self_and_next(behind_alb, headers)[0].startswith("https://features.example.org:8443/")


def test_rfc7239_forwarded_header(behind_alb: TestClient) -> None:
    headers = {"Forwarded": 'for=203.0.113.9;proto=https;host="maps.example.net"'}
    assert self_and_next(behind_alb, headers)[0].startswith("https://maps.example.net/")


def test_only_the_right_most_value_counts(behind_alb: TestClient) -> None:
    # A client can prepend anything; the last value is the one our proxy wrote.
    headers = {**ALB_HEADERS, "X-Forwarded-Host": "evil.example, features.example.org"}
    assert self_and_next(behind_alb, headers)[0].startswith("https://features.example.org/")


def test_malformed_host_is_ignored(behind_alb: TestClient) -> None:
    headers = {**ALB_HEADERS, "X-Forwarded-Host": "evil.example/<script>"}
    assert self_and_next(behind_alb, headers)[0].startswith("https://testserver/")


def test_untrusted_peer_headers_are_ignored(make_app: Callable[..., Any]) -> None:
    app = make_app(forwarded_allow_ips=["10.0.0.0/16"])
    with TestClient(app, client=("198.51.100.20", 5000)) as outsider:
        links = self_and_next(outsider, ALB_HEADERS)
    assert all(h.startswith("http://testserver/") for h in links)


def test_nothing_is_trusted_by_default_but_loopback(make_app: Callable[..., Any]) -> None:
    with TestClient(make_app(), client=ALB) as default_client:
        assert self_and_next(default_client, ALB_HEADERS)[0].startswith("http://testserver/")


def test_remembered_answers_stay_right_and_bounded() -> None:
    peers = TrustedPeers(["10.0.0.0/16", "::1"])
    hosts = [f"10.0.{i // 256}.{i % 256}" for i in range(REMEMBERED_PEERS + 300)]
    hosts += [f"10.1.0.{i}" for i in range(200)] + ["::1", "not-an-address", "10.0.0.1"]
    expected = [ipaddress.ip_address(h) in ipaddress.ip_network("10.0.0.0/16") for h in hosts[:-3]]
    for _ in range(2):  # the second pass answers from what the first remembered
        assert [h in peers for h in hosts[:-3]] == expected
        assert ("::1" in peers, "not-an-address" in peers, "10.0.0.1" in peers) == (
            True,
            False,
            True,
        )
        assert len(peers._answers) <= REMEMBERED_PEERS
