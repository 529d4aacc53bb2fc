"""Fake language-model servers on 127.0.0.1 that speak the real wire formats.

`FakeLLMServer("anthropic")` answers `POST /v1/messages` like the Anthropic Messages API (content blocks,
`tool_use`, `usage.input_tokens/output_tokens`, `{"type": "error", "error": {...}}` bodies);
`FakeLLMServer("openai")` answers `POST /v1/chat/completions` (choices, `tool_calls`,
`usage.prompt_tokens/completion_tokens`, `{"error": {...}}` bodies) and `GET /v1/models`.

A script maps the kind of prompt (recognised from the templates' wording) to a list of replies, used
in order (the last one repeats). Every request is logged with what the server did, so tests can
compare the run's ledger with the server's.
"""

from __future__ import annotations

import json
import select
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

GOOD_FEATURES = """Here is the feature code.

```python
import numpy as np
import pandas as pd


def transform(df):
    out = df.copy()
    out["age_x_income"] = out["age"] * out["income"]
    out["income_log"] = np.log1p(out["income"].clip(lower=0))
    out["is_senior"] = (out["age"] > 55).astype("int8")
    return out
```
"""

BUGGY_FEATURES = """```python
import numpy as np


def transform(df):
    out = df.copy()
    out["ratio"] = out["age"] / undefined_scale
    return out
```"""

HALLUCINATED_FEATURES = """```python
def transform(df):
    out = df.copy()
    out["spend_per_visit"] = out["total_spend"] / out["visit_count"]
    return out
```"""

LOOPING_FEATURES = """```python
def transform(df):
    n = 0
    while True:
        n += 1
    return df
```"""

PROSE_ONLY = (
    "I would start by looking at the age and income columns, perhaps combining them, and then check "
    "whether the city matters. Let me know if you want me to write the code!"
)

GOOD_PLOTS = """```python
import matplotlib.pyplot as plt


def make_plots(df, target, task):
    fig, ax = plt.subplots(figsize=(6, 4))
    counts = df[target].astype(str).value_counts()
    ax.bar(list(counts.index), list(counts.values))
    ax.set_title("Class counts")
    share = counts.iloc[0] / counts.sum()
    return [("target_counts", fig, "Most common class covers " + str(round(100 * share)) + "% of rows.")]
```"""

PLAN = {
    "candidates": [
        {
            "name": "LightGBM (small leaves)",
            "family": "lightgbm",
            "params": {"num_leaves": 15, "n_estimators": 120},
            "search_space": {"num_leaves": ["int", 7, 31], "learning_rate": ["float", 0.03, 0.2, "log"]},
        },
        {
            "name": "Logistic regression",
            "family": "linear",
            "params": {"C": 1.0},
            "search_space": {"C": ["float", 0.01, 10.0, "log"]},
        },
    ],
    "class_weight": None,
    "reasoning": "A boosted model and a linear baseline cover the likely shapes.",
}

CRITIC_OK = {"action": "finalize", "reason": "The CV score is stable and there is no overfitting; finalizing."}
OBJECTIVE_OK = {
    "metric": "roc_auc",
    "target": None,
    "positive_class": None,
    "explanation": "Ranking quality of churn scores.",
}
PROFILE_MD = "- **Churn** is fairly balanced.\n- `age` is the strongest single predictor.\n- No missing values."
EVAL_MD = "The selected model ranks churners well on the locked holdout, close to its CV score; no overfitting."


@dataclass
class Reply:
    """One scripted answer: text and/or a tool call, or an HTTP error; optionally after a delay."""

    text: str = ""
    tool: Any = None  # dict for a tool call (a str is sent raw as OpenAI arguments)
    status: int = 200
    error_type: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    tokens_in: int | None = None
    tokens_out: int | None = None


def error(status: int, retry_after: float | None = None, message: str = "") -> Reply:
    kind = {
        429: "rate_limit_error",
        500: "api_error",
        503: "api_error",
        529: "overloaded_error",
        401: "authentication_error",
        400: "invalid_request_error",
    }.get(status, "api_error")
    headers = {"retry-after": str(retry_after)} if retry_after is not None else {}
    return Reply(status=status, error_type=kind, headers=headers, text=message or f"fake {kind}")


def classify(prompt: str) -> str:
    """Which template a prompt came from (the last user message decides)."""
    if "Your previous answer was" in prompt:
        return "decision_retry"
    if "contained no usable Python code" in prompt:
        return "no_code_retry"
    if "code failed at the" in prompt:
        return "repair_features" if "Your features code" in prompt else "repair_plots"
    for needle, kind in (
        ("Turn the user's goal", "objective"),
        ("Key findings", "profile"),
        ("Write feature-engineering code", "features"),
        ("exploratory plotting", "plots"),
        ("Plan the candidate models", "model_plan"),
        ("Summarise the evaluation", "evaluation"),
        ("You are the critic", "critic"),
    ):
        if needle in prompt:
            return kind
    return "unknown"


DEFAULT_SCRIPT: dict[str, list[Reply]] = {
    "objective": [Reply(tool=OBJECTIVE_OK)],
    "profile": [Reply(text=PROFILE_MD)],
    "features": [Reply(text=GOOD_FEATURES)],
    "repair_features": [Reply(text=GOOD_FEATURES)],
    "plots": [Reply(text=GOOD_PLOTS)],
    "repair_plots": [Reply(text=GOOD_PLOTS)],
    "no_code_retry": [Reply(text=PROSE_ONLY)],
    "model_plan": [Reply(tool=PLAN)],
    "evaluation": [Reply(text=EVAL_MD)],
    "critic": [Reply(tool=CRITIC_OK)],
    "decision_retry": [Reply(tool=CRITIC_OK)],
    "unknown": [Reply(text="?")],
}


class FakeLLMServer:
    def __init__(self, flavor: str, script: dict[str, list[Reply]] | None = None, model: str = "fake-model") -> None:
        self.flavor = flavor
        self.script = {k: list(v) for k, v in DEFAULT_SCRIPT.items()}
        self.script.update({k: list(v) for k, v in (script or {}).items()})
        self.model = model
        self.log: list[dict[str, Any]] = []
        self.bodies: list[dict[str, Any]] = []
        self.headers_seen: list[dict[str, str]] = []
        self._used: dict[str, int] = {}
        self._lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}" + ("/v1" if self.flavor == "openai" else "")

    def start(self) -> FakeLLMServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    # --- what the server did ---------------------------------------------------------------
    def served(self, kind: str | None = None, status: int | None = 200) -> list[dict[str, Any]]:
        return [
            e for e in self.log if (kind is None or e["kind"] == kind) and (status is None or e["status"] == status)
        ]

    def tokens(self) -> tuple[int, int]:
        ok = self.served()
        return sum(e["tokens_in"] for e in ok), sum(e["tokens_out"] for e in ok)

    def _next(self, kind: str) -> Reply:
        with self._lock:
            replies = self.script.get(kind) or self.script["unknown"]
            i = self._used.get(kind, 0)
            self._used[kind] = i + 1
            return replies[min(i, len(replies) - 1)]

    # --- wire formats ------------------------------------------------------------------------
    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
                body = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(body)))
                    for k, v in (headers or {}).items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def do_GET(self) -> None:
                if server.flavor == "openai" and self.path.rstrip("/").endswith("/models"):
                    self._send(
                        200,
                        {
                            "object": "list",
                            "data": [{"id": server.model, "object": "model", "created": 0, "owned_by": "fake"}],
                        },
                    )
                else:
                    self._send(404, {"error": {"message": "not found", "type": "not_found"}})

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                expected = "/v1/messages" if server.flavor == "anthropic" else "/v1/chat/completions"
                if self.path.split("?")[0] != expected:
                    self._send(404, {"error": {"message": f"unknown path {self.path}", "type": "not_found"}})
                    return
                with server._lock:
                    server.bodies.append(body)
                    server.headers_seen.append({k.lower(): v for k, v in self.headers.items()})
                messages = body.get("messages", [])
                user = [m for m in messages if m.get("role") == "user"]
                last = user[-1]["content"] if user else ""
                last = last if isinstance(last, str) else json.dumps(last)
                kind = classify(last)
                reply = server._next(kind)
                entry = {
                    "kind": kind,
                    "status": reply.status,
                    "tokens_in": 0,
                    "tokens_out": 0,
                    "time": time.time(),
                    "tools": bool(body.get("tools")),
                    "delay_s": reply.delay_s,
                }
                with server._lock:
                    server.log.append(entry)
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                    if self._client_gone():
                        entry["status"] = 499  # like nginx: the client closed the request before the answer
                        return
                if reply.status != 200:
                    self._error(reply)
                    return
                prompt_chars = sum(len(json.dumps(m.get("content", ""))) for m in messages) + len(
                    str(body.get("system", ""))
                )
                answer = reply.text + (json.dumps(reply.tool) if reply.tool is not None else "")
                entry["tokens_in"] = reply.tokens_in if reply.tokens_in is not None else max(1, prompt_chars // 4)
                entry["tokens_out"] = reply.tokens_out if reply.tokens_out is not None else max(1, len(answer) // 4)
                if server.flavor == "anthropic":
                    self._anthropic(body, reply, entry)
                else:
                    self._openai(body, reply, entry)

            def _client_gone(self) -> bool:
                try:
                    readable, _, _ = select.select([self.connection], [], [], 0)
                    return bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b""
                except OSError:
                    return True

            def _error(self, reply: Reply) -> None:
                if server.flavor == "anthropic":
                    payload = {"type": "error", "error": {"type": reply.error_type, "message": reply.text}}
                else:
                    payload = {
                        "error": {
                            "message": reply.text,
                            "type": reply.error_type,
                            "param": None,
                            "code": reply.error_type,
                        }
                    }
                self._send(
                    reply.status,
                    payload,
                    {"x-should-retry": "true", **reply.headers}
                    if reply.status >= 500 or reply.status == 429
                    else reply.headers,
                )

            def _anthropic(self, body: dict[str, Any], reply: Reply, entry: dict[str, Any]) -> None:
                content: list[dict[str, Any]] = []
                if reply.text:
                    content.append({"type": "text", "text": reply.text})
                tools = body.get("tools") or []
                if reply.tool is not None and tools:
                    content.append(
                        {
                            "type": "tool_use",
                            "id": f"toolu_{len(server.log):04d}",
                            "name": tools[0]["name"],
                            "input": reply.tool if isinstance(reply.tool, dict) else {"raw": reply.tool},
                        }
                    )
                elif reply.tool is not None:
                    content.append({"type": "text", "text": json.dumps(reply.tool)})
                self._send(
                    200,
                    {
                        "id": f"msg_{len(server.log):04d}",
                        "type": "message",
                        "role": "assistant",
                        "model": body.get("model"),
                        "content": content,
                        "stop_reason": "tool_use" if any(c["type"] == "tool_use" for c in content) else "end_turn",
                        "stop_sequence": None,
                        "usage": {"input_tokens": entry["tokens_in"], "output_tokens": entry["tokens_out"]},
                    },
                )

            def _openai(self, body: dict[str, Any], reply: Reply, entry: dict[str, Any]) -> None:
                message: dict[str, Any] = {"role": "assistant", "content": reply.text or None}
                tools = body.get("tools") or []
                finish = "stop"
                if reply.tool is not None and tools:
                    args = reply.tool if isinstance(reply.tool, str) else json.dumps(reply.tool)
                    message["tool_calls"] = [
                        {
                            "id": f"call_{len(server.log):04d}",
                            "type": "function",
                            "function": {"name": tools[0]["function"]["name"], "arguments": args},
                        }
                    ]
                    finish = "tool_calls"
                elif reply.tool is not None:
                    message["content"] = (reply.text + "\n" if reply.text else "") + (
                        reply.tool if isinstance(reply.tool, str) else json.dumps(reply.tool)
                    )
                self._send(
                    200,
                    {
                        "id": f"chatcmpl-{len(server.log):04d}",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": body.get("model"),
                        "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
                        "usage": {
                            "prompt_tokens": entry["tokens_in"],
                            "completion_tokens": entry["tokens_out"],
                            "total_tokens": entry["tokens_in"] + entry["tokens_out"],
                        },
                    },
                )

        return Handler
