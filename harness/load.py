"""Load counted, not timed: client threads repeating one request until told to stop."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import httpx2 as httpx

# Client timeout: an answer later than this is a hang, not a slow machine.
HANG_SECONDS = 30


@dataclass
class Answer:
    status: int
    body: Any  # the JSON body (every answer of the service is JSON, errors included)
    seconds: float


def get(url: str) -> Answer:
    start = time.monotonic()
    response = httpx.get(url, timeout=HANG_SECONDS)
    return Answer(response.status_code, response.json(), time.monotonic() - start)


class Load:
    """`threads` clients repeating GET `url` until stop(), each until its first transport error
    (a refused connection, a hang past HANG_SECONDS), kept in `errors`; `answers` in the order
    they came. Tests wait for counts of them, never for time."""

    def __init__(self, url: str, threads: int = 4) -> None:
        self.url = url
        self.answers: list[Answer] = []
        self.errors: list[httpx.TransportError] = []
        self.stopped = threading.Event()
        self.threads = [threading.Thread(target=self._repeat) for _ in range(threads)]

    def _repeat(self) -> None:
        while not self.stopped.is_set():
            try:
                self.answers.append(get(self.url))
            except httpx.TransportError as exc:
                self.errors.append(exc)
                return

    def start(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def count(self, status: int, since: int = 0) -> int:
        return len([a for a in self.answers[since:] if a.status == status])

    def stop(self) -> list[Answer]:
        self.stopped.set()
        for thread in self.threads:
            thread.join()
        return self.answers
