"""A file server on 127.0.0.1 for download tests: serves a folder, counts requests, can act as an HTTP proxy."""

from __future__ import annotations

import contextlib
import functools
import http.server
import threading
from pathlib import Path


class _Handler(http.server.SimpleHTTPRequestHandler):
    requests: list[str]

    def log_message(self, *args):  # quiet
        pass

    def do_GET(self):  # noqa: N802 - http.server's name
        self.requests.append(self.path)
        if self.path.startswith("http://"):  # asked as a proxy: answer for the absolute URL
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")
            return
        super().do_GET()

    def do_HEAD(self):  # noqa: N802
        self.requests.append("HEAD " + self.path)
        if self.path.startswith("http://"):
            self.send_response(200)
            self.end_headers()
            return
        super().do_HEAD()


@contextlib.contextmanager
def serve(folder: Path):
    """Serve ``folder`` on 127.0.0.1; yields ``(base_url, requests)``, the paths asked so far."""
    requests: list[str] = []
    handler = functools.partial(type("Handler", (_Handler,), {"requests": requests}), directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", requests
    finally:
        server.shutdown()
        server.server_close()
