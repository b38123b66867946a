"""HTTP receivers for the alert outputs' tests, each checking what its real peer checks:
falcosidekick's required fields, Splunk HEC's event and ack endpoints, a signed webhook.

Each serves HTTP/1.1 (keep-alive) on 127.0.0.1 from a thread, records what it accepted,
and can be stopped (closing open connections, as a receiver that goes down does) and
started again on the same port.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import json
import socket
import ssl
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self

Answer = tuple[int, dict[str, Any]]
Route = Callable[[str, str, dict[str, str], bytes], Answer]
FALCO_PRIORITIES = {
    "emergency", "alert", "critical", "error", "warning", "notice", "informational", "debug",
}  # fmt: skip


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int, route: Route) -> None:
        self.route = route
        self.connections: set[socket.socket] = set()
        super().__init__(("127.0.0.1", port), _Handler)

    def get_request(self) -> tuple[socket.socket, Any]:
        conn, address = super().get_request()
        self.connections.add(conn)
        return conn, address

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Quiet: a connection cut by `stop` mid-request is what the tests do on purpose."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        """No Nagle delay: headers and body leave as separate writes."""
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, answer = self.server.route("POST", self.path, headers, body)
        data = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802
        self.send_response(405)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
        return


class HttpReceiver:
    """Serves `route` on 127.0.0.1:`port` (0: any); restartable on the same port."""

    def __init__(self, port: int = 0) -> None:
        self.port = port
        self.tls: ssl.SSLContext | None = None  # set by `with_tls`: serve HTTPS
        self.rejected: list[str] = []  # why requests were refused (400s)
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._requests = 0
        self.held = 0  # requests left unanswered since `hold_after` took effect
        self._hold_after: int | None = None
        self._down = threading.Event()  # set by `stop`: held requests end unanswered

    @property
    def url(self) -> str:
        """The receiver's base URL."""
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def with_tls(self, cert: str, key: str) -> Self:
        """Serve HTTPS with this certificate and key (call before `start`)."""
        self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.tls.load_cert_chain(cert, key)
        return self

    def route(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
        """Answer one request (subclasses implement the protocol)."""
        raise NotImplementedError

    def hold_after(self, requests: int) -> Self:
        """Take `requests` more requests, then leave the next ones unanswered until `stop`:
        the receiver dies with requests in flight (`start` serves normally again)."""
        with self._lock:
            self._hold_after = self._requests + requests
        return self

    def _locked_route(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
        with self._lock:
            self._requests += 1
            held = self._hold_after is not None and self._requests > self._hold_after
        if held:
            with self._lock:
                self.held += 1
            self._down.wait()
            return 503, {"text": "receiver went down"}  # written to a closed connection
        with self._lock:
            status, answer = self.route(method, path, headers, body)
            if status == 400:
                self.rejected.append(str(answer))
            return status, answer

    def start(self) -> Self:
        """Listen and serve from a thread."""
        self._hold_after, self.held = None, 0
        self._down.clear()
        self._server = _Server(self.port, self._locked_route)
        self.port = self._server.server_address[1]
        if self.tls is not None:
            self._server.socket = self.tls.wrap_socket(self._server.socket, server_side=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop listening and drop every open connection."""
        if self._server is None:
            return
        self._down.set()
        self._server.shutdown()
        self._server.server_close()
        for conn in list(self._server.connections):
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()
        assert self._thread is not None
        self._thread.join(timeout=5)
        self._server = None


def _falco_time_ok(value: object) -> bool:
    """What Go's time.Time accepts from JSON: RFC 3339 (nanoseconds allowed), not zero."""
    if not isinstance(value, str):
        return False
    text = value.replace("Z", "+00:00")
    head, _, rest = text.partition(".")
    if rest:  # Python parses at most 6 fractional digits
        digits = "".join(c for c in rest if c.isdigit())
        text = f"{head}.{digits[:6]}{rest[len(digits) :]}"
    try:
        return dt.datetime.fromisoformat(text).year > 1
    except ValueError:
        return False


def falcosidekick_problem(payload: object) -> str | None:
    """Why falcosidekick would refuse `payload`, or None (its handler and `Check()`)."""
    if not isinstance(payload, dict):
        return "not a JSON object"
    checks = [
        (isinstance(payload.get("output"), str) and payload["output"], "output is empty"),
        (str(payload.get("priority", "")).lower() in FALCO_PRIORITIES, "priority is not Falco's"),
        (isinstance(payload.get("rule"), str) and payload["rule"], "rule is empty"),
        (_falco_time_ok(payload.get("time")), "time is not RFC 3339"),
        (isinstance(payload.get("output_fields"), dict) and payload["output_fields"],
         "output_fields is empty"),
        (isinstance(payload.get("source", ""), str), "source is not a string"),
        (isinstance(payload.get("tags", []), list), "tags is not a list"),
        (isinstance(payload.get("hostname", ""), str), "hostname is not a string"),
    ]  # fmt: skip
    return next((why for ok, why in checks if not ok), None)


class FalcosidekickReceiver(HttpReceiver):
    """falcosidekick's `/` endpoint: one Falco JSON alert per POST, its required fields."""

    def __init__(self, port: int = 0) -> None:
        super().__init__(port)
        self.alerts: list[dict[str, Any]] = []

    def route(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
        """Accept a valid Falco payload, as falcosidekick's main handler does."""
        if path != "/":
            return 404, {"error": path}
        if not headers.get("content-type", "").startswith("application/json"):
            return 400, {"error": "Content-Type is not application/json"}
        try:
            payload = json.loads(body)
        except ValueError:
            return 400, {"error": "Please send a valid request body"}
        problem = falcosidekick_problem(payload)
        if problem is not None:
            return 400, {"error": problem}
        self.alerts.append(payload)
        return 200, {}


class HecReceiver(HttpReceiver):
    """Splunk HEC: `/services/collector/event` (token, channel, concatenated events) and
    `/services/collector/ack` (an ackId is indexed once it has been polled `ack_after` times)."""

    def __init__(self, token: str, port: int = 0, ack_after: int = 1) -> None:
        super().__init__(port)
        self.token = token
        self.ack_after = ack_after
        self.events: list[dict[str, Any]] = []
        self.ack_polls = 0
        self._pending: dict[str, dict[int, int]] = {}  # channel -> ackId -> polls so far
        self._next_ack = 0

    def route(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
        """HEC's answers: code 0 with an ackId, or its error codes."""
        if headers.get("authorization") != f"Splunk {self.token}":
            return 401, {"text": "Invalid token", "code": 4}
        channel = headers.get("x-splunk-request-channel")
        if not channel:
            return 400, {"text": "Data channel is missing", "code": 10}
        if path == "/services/collector/event":
            return self._event(channel, body)
        if path == "/services/collector/ack":
            return self._ack(channel, body)
        return 404, {"text": "not found", "code": 404}

    def _event(self, channel: str, body: bytes) -> Answer:
        decoder, text, at, events = json.JSONDecoder(), body.decode(), 0, []
        while at < len(text):
            while at < len(text) and text[at].isspace():
                at += 1
            if at >= len(text):
                break
            try:
                event, at = decoder.raw_decode(text, at)
            except ValueError:
                return 400, {"text": "Invalid data format", "code": 6}
            if not isinstance(event, dict) or "event" not in event:
                return 400, {"text": "Event field is required", "code": 12}
            events.append(event)
        if not events:
            return 400, {"text": "No data", "code": 5}
        self.events.extend(events)
        ack_id = self._next_ack
        self._next_ack += 1
        self._pending.setdefault(channel, {})[ack_id] = 0
        return 200, {"text": "Success", "code": 0, "ackId": ack_id}

    def _ack(self, channel: str, body: bytes) -> Answer:
        self.ack_polls += 1
        asked = json.loads(body).get("acks", [])
        pending = self._pending.get(channel, {})
        answer = {}
        for ack_id in asked:
            polls = pending.get(ack_id)
            if polls is not None:
                pending[ack_id] = polls + 1
            answer[str(ack_id)] = polls is not None and polls + 1 >= self.ack_after
        return 200, {"acks": answer}


class WebhookReceiver(HttpReceiver):
    """A webhook endpoint verifying the HMAC-SHA256 signature of every request."""

    def __init__(self, secret: str, port: int = 0) -> None:
        super().__init__(port)
        self.secret = secret
        self.alerts: list[dict[str, Any]] = []

    def route(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
        """Accept a JSON array of alerts whose signature verifies."""
        timestamp = headers.get("x-stockade-timestamp", "")
        signed = timestamp.encode() + b"." + body
        wanted = "sha256=" + hmac.new(self.secret.encode(), signed, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(wanted, headers.get("x-stockade-signature", "")):
            return 401, {"error": "bad signature"}
        alerts = json.loads(body)
        if not isinstance(alerts, list):
            return 400, {"error": "not a JSON array"}
        self.alerts.extend(alerts)
        return 200, {}
