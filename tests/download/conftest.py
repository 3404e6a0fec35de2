"""A local HTTP server on 127.0.0.1 with scripted faults, for the download tests."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@dataclass
class Route:
    body: bytes
    fail_times: int = 0          # answer 503 this many times first
    fail_status: int = 503
    drop_after: int | None = None  # close the connection after this many body bytes...
    drop_times: int = 0            # ...on this many requests
    ignore_range: bool = False
    headers: dict[str, str] = field(default_factory=dict)  # an "ETag" here is also checked against If-Range
    framing: str = "length"  # "length" (Content-Length), "close" (none: the body ends when the connection
    #                          closes, so a cut cannot be told from the end) or "chunked"


@dataclass
class FaultServer:
    base: str
    routes: dict[str, Route]
    log: list[tuple[str, str, str | None]]  # (method, path, Range header)

    def url(self, path: str) -> str:
        return f"{self.base}{path}"

    def requests(self, path: str) -> list[tuple[str, str, str | None]]:
        return [r for r in self.log if r[1] == path]


def _handler(routes: dict[str, Route], log: list) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args) -> None:  # keep test output clean
            pass

        def do_HEAD(self) -> None:
            self._serve(head=True)

        def do_GET(self) -> None:
            self._serve(head=False)

        def _serve(self, head: bool) -> None:
            path = self.path.split("?")[0]
            log.append((self.command, path, self.headers.get("Range")))
            route = routes.get(path)
            if route is None:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if route.fail_times > 0 and not head:
                route.fail_times -= 1
                self.send_response(route.fail_status)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body, start, status = route.body, 0, 200
            rng = self.headers.get("Range")
            if_range = self.headers.get("If-Range")
            changed = if_range is not None and if_range not in (route.headers.get("ETag"),
                                                                 route.headers.get("Last-Modified"))
            if rng and not route.ignore_range and not changed and rng.startswith("bytes="):
                start = int(rng[6:].split("-")[0])
                if start >= len(body):
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{len(body)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                status = 206
            chunk = body[start:]
            self.send_response(status)
            if status == 206:
                self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
            if route.framing == "length":
                self.send_header("Content-Length", str(len(chunk)))
            elif route.framing == "chunked":
                self.send_header("Transfer-Encoding", "chunked")
            else:
                self.close_connection = True
            self.send_header("Accept-Ranges", "bytes")
            for key, value in route.headers.items():
                self.send_header(key, value)
            self.end_headers()
            if head:
                return
            cut = route.drop_times > 0 and route.drop_after is not None
            if cut:
                route.drop_times -= 1
                chunk = chunk[: route.drop_after]
                self.close_connection = True
            if route.framing == "chunked":
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if chunk else b"")
                if not cut:
                    self.wfile.write(b"0\r\n\r\n")  # the terminating chunk: the body is whole
            else:
                self.wfile.write(chunk)
            self.wfile.flush()

    return Handler


@pytest.fixture
def server() -> Iterator[FaultServer]:
    routes: dict[str, Route] = {}
    log: list = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(routes, log))
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield FaultServer(f"http://127.0.0.1:{httpd.server_address[1]}", routes, log)
    finally:
        httpd.shutdown()
        httpd.server_close()
