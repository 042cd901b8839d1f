"""A webhook receiver on 127.0.0.1 for the `drift --notify` tests: a real HTTP server in a
thread that keeps every request and can answer the first ones with an error."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    url: str = ""
    fail_first: int = 0  # answer this many requests with `fail_status`
    fail_status: int = 503
    requests: list[Received] = field(default_factory=list)  # every request, failed or not
    accepted: list[Received] = field(default_factory=list)  # those answered 204
    lock: threading.Lock = field(default_factory=threading.Lock)

    def events(self) -> list[Any]:
        """The JSON bodies of the accepted requests."""
        with self.lock:
            return [r.json() for r in self.accepted]

    def raw(self) -> str:
        """Every header and body received, to search for secrets (the URL's own token is
        the receiver's to know, so paths are left out)."""
        with self.lock:
            return "\n".join(f"{json.dumps(r.headers)}\n{r.body.decode()}" for r in self.requests)


@contextmanager
def receiving(fail_first: int = 0, fail_status: int = 503) -> Iterator[Receiver]:
    """A running receiver; its `url` takes POSTs on any path."""
    receiver = Receiver(fail_first=fail_first, fail_status=fail_status)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            headers = {k.lower(): v for k, v in self.headers.items()}
            got = Received(self.path, headers, self.rfile.read(length))
            with receiver.lock:
                receiver.requests.append(got)
                failing = len(receiver.requests) <= receiver.fail_first
                if not failing:
                    receiver.accepted.append(got)
            self.send_response(receiver.fail_status if failing else 204)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/drift"
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
