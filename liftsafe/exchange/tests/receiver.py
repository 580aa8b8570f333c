"""A real local HTTP receiver for the exchange tests (http.server in a thread, on a free port).

It records every request (path, headers, body) and answers per ``mode``:

- ``"accept"``: the documented contract ``{"code", "message", "results"}``; records whose key is in
  ``reject`` are rejected every time with that reason, keys in ``reject_once`` only the first time;
- ``"500"``: HTTP 500 with a text body;
- ``"slow"``: sleeps ``delay`` seconds, then answers like ``accept``;
- ``stop()`` / ``start()`` on the same port: connection refused in between.

JSON bodies are read as ``{"records": [...]}`` (keys ``fault_id`` / ``device_id``); CSV bodies with
:func:`liftsafe.exchange.adapters.provincial_csv.parse_csv` (key ``order_number``, results by ``row``).
"""
from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from liftsafe.exchange.adapters.provincial_csv import parse_csv


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False


class Receiver:
    def __init__(self):
        self.requests: list[dict] = []
        self.mode = "accept"
        self.delay_bytes = 0
        self.delay = 0.0
        self.reject: dict[str, str] = {}
        self.reject_once: dict[str, str] = {}
        self.lock = threading.Lock()
        self.port = 0
        self._server: _Server | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/upload"

    def start(self) -> "Receiver":
        rec = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with rec.lock:
                    rec.requests.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()},
                                         "body": body, "at": time.monotonic()})
                    mode, delay = rec.mode, rec.delay
                if mode == "500":
                    return self._send(500, b"internal error", "text/plain")
                if mode == "403":
                    return self._send(403, b"forbidden: token of LS-secret-record", "text/plain")
                if mode == "busy":
                    return self._send(200, b'{"code": 503, "message": "system busy"}', "application/json")
                if mode == "refused200":
                    return self._send(200, b'{"code": 401, "message": "token invalid"}', "application/json")
                if mode == "huge":
                    return self._send(200, b"x" * rec.delay_bytes, "application/json")
                if mode == "slow":
                    time.sleep(delay)
                try:
                    self._send(200, json.dumps(rec.answer(self.headers.get("Content-Type", ""), body)).encode(), "application/json")
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def _send(self, status, content, ctype):
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(content)))
                self.end_headers()
                self.wfile.write(content)

        self._server = _Server(("127.0.0.1", self.port), Handler)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def rows(self, req: dict) -> list[dict]:
        if req["headers"].get("content-type", "").startswith("text/csv"):
            return parse_csv(req["body"])
        return json.loads(req["body"])["records"]

    def answer(self, ctype: str, body: bytes) -> dict:
        csv_body = ctype.startswith("text/csv")
        rows = parse_csv(body) if csv_body else json.loads(body)["records"]
        results = []
        with self.lock:
            for n, r in enumerate(rows, 1):
                key = r.get("order_number") if csv_body else (r.get("fault_id") or r.get("device_id"))
                reason = self.reject.get(key) or self.reject_once.pop(key, None)
                item = {"row": n} if csv_body else ({"fault_id": key} if "fault_id" in r else {"device_id": key})
                item.update({"status": "rejected", "reason": reason} if reason else {"status": "ok"})
                results.append(item)
        bad = sum(1 for x in results if x["status"] != "ok")
        return {"code": 0 if not bad else 1, "message": "ok" if not bad else f"{bad} rejected", "results": results}
