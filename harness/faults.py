"""Collectors that fail: a port nobody listens on, and a listener that never answers."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from types import TracebackType


@contextlib.contextmanager
def closed_port() -> Iterator[str]:
    """The endpoint of a loopback port nobody listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    yield f"http://127.0.0.1:{port}"


def port_below_ephemeral_range() -> int:
    """A free loopback port where a real collector's would be (4317 is): not an ephemeral one,
    which an exporter's own connect attempts could be given as their source port while the
    receiver is down (a TCP self-connect) and so keep the restarted receiver from it."""
    with open("/proc/sys/net/ipv4/ip_local_port_range") as ports:
        lowest_ephemeral = int(ports.read().split()[0])
    for port in range(min(lowest_ephemeral, 30000) - 1, 1024, -1):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port below the ephemeral range")


class BlackHole:
    """Accepts TCP connections and never says a word."""

    def __init__(self) -> None:
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._held: list[socket.socket] = []
        self.endpoint = f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def __enter__(self) -> BlackHole:
        self._listener.listen(64)
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._listener.close()
        for conn in self._held:
            conn.close()

    def _accept(self) -> None:
        while True:
            try:
                self._held.append(self._listener.accept()[0])
            except OSError:
                return
