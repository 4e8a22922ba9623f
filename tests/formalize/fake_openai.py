"""An OpenAI-compatible chat completions server on 127.0.0.1 that sends scripted replies.

Tests queue one response per expected request and read back the requests the server got,
so the real `openai` client code runs end to end without a model.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

CHAT_PATH = "/v1/chat/completions"
# Non-retryable status for a request that no test scripted, so the client fails at once.
UNSCRIPTED_STATUS = 418


@dataclass
class RecordedRequest:
    """One request the server received."""

    method: str
    path: str
    headers: dict[str, str]  # names lower-cased
    body: dict[str, Any]


@dataclass
class ScriptedResponse:
    """One queued reply: a status and a body, sent after `delay_seconds`.

    A `body` that is a string is sent as it is, with `content_type`, so a test can
    send a reply that is not JSON. Any other body is encoded as JSON.
    """

    status: int
    body: dict[str, Any] | list[Any] | str
    headers: dict[str, str] = field(default_factory=dict)
    delay_seconds: float = 0.0
    content_type: str = "application/json"


# A callable reply receives the request and returns the reply to send.
Responder = Callable[[RecordedRequest], ScriptedResponse]


def chat_completion(
    content: str | None,
    model: str = "fake-model",
    prompt_tokens: int = 120,
    completion_tokens: int = 45,
    finish_reason: str = "stop",
) -> dict[str, Any]:
    """Build the body of a successful chat completion whose message is `content`."""
    return {
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content},
                "finish_reason": finish_reason,
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


def error_body(message: str, error_type: str = "invalid_request_error", param: str | None = None) -> dict[str, Any]:
    """Build an error body in the shape OpenAI's API returns."""
    return {"error": {"message": message, "type": error_type, "param": param, "code": None}}


class FakeOpenAI:
    """The scripted server. Use `start()` and `close()`, or the `fake_openai` fixture."""

    def __init__(self) -> None:
        self.requests: list[RecordedRequest] = []
        self._script: deque[ScriptedResponse | Responder] = deque()
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-openai", daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> FakeOpenAI:
        self._thread.start()
        return self

    def close(self) -> None:
        self._closing.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def push(
        self,
        status: int,
        body: dict[str, Any],
        headers: dict[str, str] | None = None,
        delay_seconds: float = 0.0,
    ) -> None:
        """Queue a reply with this status and JSON body."""
        with self._lock:
            self._script.append(ScriptedResponse(status, body, headers or {}, delay_seconds))

    def push_raw(self, status: int, text: str, content_type: str) -> None:
        """Queue a reply whose body is `text` as it is, such as an HTML page or broken JSON."""
        with self._lock:
            self._script.append(ScriptedResponse(status, text, {}, 0.0, content_type))

    def push_answer(self, content: str | None, **completion: Any) -> None:
        """Queue a successful chat completion whose message is `content`."""
        self.push(200, chat_completion(content, **completion))

    def push_responder(self, responder: Responder) -> None:
        """Queue a callable that builds the reply from the request."""
        with self._lock:
            self._script.append(responder)

    @property
    def pending(self) -> int:
        """The number of queued replies not sent yet."""
        with self._lock:
            return len(self._script)

    def _reply_to(self, request: RecordedRequest) -> ScriptedResponse:
        with self._lock:
            self.requests.append(request)
            scripted = self._script.popleft() if self._script else None
        if scripted is None:
            return ScriptedResponse(
                UNSCRIPTED_STATUS,
                error_body(f"fake server has no scripted response left for {request.method} {request.path}"),
            )
        if callable(scripted):
            return scripted(request)
        return scripted

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else {}
                except json.JSONDecodeError:
                    body = {"unparsed": raw.decode("utf-8", "replace")}
                headers = {name.lower(): value for name, value in self.headers.items()}
                request = RecordedRequest("POST", self.path, headers, body)

                if self.path != CHAT_PATH:
                    reply = ScriptedResponse(404, error_body(f"unknown path {self.path}"))
                    with fake._lock:
                        fake.requests.append(request)
                else:
                    reply = fake._reply_to(request)
                self._send(reply)

            def do_GET(self) -> None:
                self._send(ScriptedResponse(404, error_body(f"unknown path {self.path}")))

            def _send(self, reply: ScriptedResponse) -> None:
                # A delayed reply ends early when the server closes, so a timeout test
                # does not keep a handler thread alive.
                if reply.delay_seconds and fake._closing.wait(reply.delay_seconds):
                    return
                text = reply.body if isinstance(reply.body, str) else json.dumps(reply.body)
                payload = text.encode("utf-8")
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", reply.content_type)
                    self.send_header("Content-Length", str(len(payload)))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    # The client gave up, as it does after its own timeout.
                    pass

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler
