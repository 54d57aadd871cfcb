"""A local OpenAI-compatible server (``/v1/chat/completions``) that answers from a script.

It stands in for vLLM or NIM so the real provider client (langchain-openai's ChatOpenAI, made
by ``init_chat_model(..., base_url=...)``) runs over HTTP. Each request takes the next scripted
answer: a tool call, JSON text, malformed tool arguments, an HTTP 500 or a delay.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Answer:
    kind: str  # tool | text | malformed | error | slow
    args: dict[str, Any] = field(default_factory=dict)
    text: str = ""
    delay_s: float = 0.0


def tool(**args: Any) -> Answer:
    return Answer("tool", args=args)


class OpenAIStub:
    def __init__(self) -> None:
        self.script: list[Answer] = []
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
                with stub._lock:
                    stub.requests.append(body)
                    answer = stub.script.pop(0) if stub.script else Answer("error")
                if answer.kind == "slow":
                    time.sleep(answer.delay_s)
                    answer = Answer("tool", args=answer.args)
                if answer.kind == "error":
                    self._send(500, {"error": {"message": "stub: internal error", "type": "server_error"}})
                    return
                self._send(200, stub.completion(answer))

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (its timeout): what a slow server sees too

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    @staticmethod
    def completion(answer: Answer) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": None}
        finish = "tool_calls"
        if answer.kind == "tool":
            arguments = json.dumps(answer.args)
        elif answer.kind == "malformed":
            arguments = '{"action": "launch", "gpus": 8, '  # cut off mid-object
        else:
            arguments = ""
            message["content"], finish = answer.text, "stop"
        if arguments:
            message["tool_calls"] = [{"id": "call_1", "type": "function",
                                      "function": {"name": "ActionProposal", "arguments": arguments}}]
        return {"id": "chatcmpl-stub", "object": "chat.completion", "created": int(time.time()), "model": "stub",
                "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}

    def __enter__(self) -> OpenAIStub:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
