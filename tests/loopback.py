"""A handler class served over HTTP on 127.0.0.1 (an ephemeral port) in a daemon thread, for tests that stand
in for a mirror, an inference API or the edge."""
from __future__ import annotations

import contextlib
import http.server
import sys
import threading
from collections.abc import Callable, Iterator
from typing import Any


class QuietFiles(http.server.SimpleHTTPRequestHandler):
    """Serves a folder (pass directory=) without a log line per request."""

    def log_message(self, format: str, *args: Any) -> None:
        pass


class LoopbackServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that drops its connections when it is done (wrk at the end of a run) is no finding.
        if not isinstance(sys.exc_info()[1], ConnectionResetError | BrokenPipeError):
            super().handle_error(request, client_address)


@contextlib.contextmanager
def serving(handler: Callable[..., http.server.BaseHTTPRequestHandler]) -> Iterator[str]:
    """Yields the base URL, http://127.0.0.1:PORT (no trailing slash)."""
    server = LoopbackServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
