"""Language-model providers: Anthropic (Messages API) and OpenAI (chat completions, or any compatible server).

Each provider turns one prompt into a `Completion` (text and/or the arguments of a forced tool call)
with its token usage and the number of HTTP requests it took. Retries are the SDKs' own: they back
off exponentially with jitter on connection errors, 408/409/429 and 5xx, and honour `retry-after`;
we only configure `max_retries` and the per-call `timeout`. Whatever goes wrong surfaces as a
`ProviderError` whose message has every known secret scrubbed out.

Configuration (secrets dict first, then the environment):
  ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL, OPENAI_API_KEY, OPENAI_BASE_URL, LLM_MODEL,
  LLM_TIMEOUT_S (per HTTP attempt, default 60), LLM_MAX_RETRIES (default 2),
  LLM_PRICE_IN_PER_MTOK / LLM_PRICE_OUT_PER_MTOK (override the price table, $ per million tokens).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

DEFAULT_MODELS = {"anthropic": "claude-sonnet-4-6", "openai": "gpt-4.1-mini"}
DEFAULT_TIMEOUT_S = 60.0
DEFAULT_MAX_RETRIES = 2

# Dollars per million tokens (input, output). Matched by the longest prefix of the model name;
# models not listed (local models, new releases) are accounted in tokens only.
PRICES: dict[str, tuple[float, float]] = {
    "claude-opus-4-5": (5.0, 25.0),
    "claude-opus-4-1": (15.0, 75.0),
    "claude-opus-4": (15.0, 75.0),
    "claude-sonnet-4": (3.0, 15.0),
    "claude-3-7-sonnet": (3.0, 15.0),
    "claude-3-5-sonnet": (3.0, 15.0),
    "claude-haiku-4": (1.0, 5.0),
    "claude-3-5-haiku": (0.8, 4.0),
    "claude-3-haiku": (0.25, 1.25),
    "gpt-5-nano": (0.05, 0.40),
    "gpt-5-mini": (0.25, 2.0),
    "gpt-5": (1.25, 10.0),
    "gpt-4.1-nano": (0.10, 0.40),
    "gpt-4.1-mini": (0.40, 1.60),
    "gpt-4.1": (2.0, 8.0),
    "gpt-4o-mini": (0.15, 0.60),
    "gpt-4o": (2.50, 10.0),
    "o4-mini": (1.10, 4.40),
    "o3-mini": (1.10, 4.40),
    "o3": (2.0, 8.0),
}

_KEY_PATTERNS = [
    re.compile(r"sk-ant-[A-Za-z0-9_\-]{8,}"),
    re.compile(r"sk-[A-Za-z0-9_\-]{8,}"),
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9_\-\.]{8,}"),
    re.compile(r"(?i)(x-api-key['\"]?\s*[:=]\s*['\"]?)[A-Za-z0-9_\-\.]{8,}"),
]


def scrub(text: str, secrets: list[str] | tuple[str, ...] = ()) -> str:
    """`text` with every known secret and anything shaped like an API key replaced by [redacted]."""
    text = str(text)
    for secret in sorted((s for s in secrets if s and len(s) >= 4), key=len, reverse=True):
        text = text.replace(secret, "[redacted]")
    for pattern in _KEY_PATTERNS:
        text = pattern.sub(lambda m: (m.group(1) if m.groups() else "") + "[redacted]", text)
    return text


def safe_url(url: str | None) -> str:
    """A base URL fit for the record: no user:password, no query string (some proxies carry keys there)."""
    if not url:
        return ""
    try:
        parts = urlsplit(str(url))
        host = parts.hostname or ""
        if parts.port:
            host += f":{parts.port}"
        return urlunsplit((parts.scheme, host, parts.path, "", ""))
    except ValueError:
        return "[unparseable url]"


def price_for(model: str, env: Mapping[str, str] | None = None) -> tuple[float, float] | None:
    """($ in, $ out) per million tokens for `model`, or None when unknown."""
    env = env or {}
    p_in, p_out = env.get("LLM_PRICE_IN_PER_MTOK"), env.get("LLM_PRICE_OUT_PER_MTOK")
    if p_in not in (None, "") and p_out not in (None, ""):
        try:
            return float(p_in), float(p_out)
        except ValueError:
            pass
    name = (model or "").lower().split("/")[-1]
    best = ""
    for prefix in PRICES:
        if name.startswith(prefix) and len(prefix) > len(best):
            best = prefix
    return PRICES[best] if best else None


def cost_of(price: tuple[float, float] | None, tokens_in: int, tokens_out: int) -> float | None:
    if price is None:
        return None
    return round((tokens_in * price[0] + tokens_out * price[1]) / 1_000_000, 8)


@dataclass
class FunctionSpec:
    """A JSON answer the model must give, as a tool it is forced to call."""

    name: str
    description: str
    schema: dict[str, Any]


@dataclass
class Completion:
    text: str = ""
    data: Any = None  # the forced tool call's arguments (already parsed), if any
    tokens_in: int = 0
    tokens_out: int = 0
    http_requests: int = 0
    statuses: list[int] = field(default_factory=list)
    duration_s: float = 0.0
    mode: str = "text"  # tools, json_object or text


class ProviderError(Exception):
    """A call that failed after the SDK's retries. `kind`: timeout, connection, rate_limit, server, client, config."""

    def __init__(
        self,
        kind: str,
        message: str,
        http_requests: int = 0,
        statuses: list[int] | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.http_requests = http_requests
        self.statuses = statuses or []
        self.status = status

    @property
    def transient(self) -> bool:
        """Faults that say the provider is down or overloaded (as opposed to a bad request)."""
        return self.kind in ("timeout", "connection", "rate_limit", "server")


class _RequestCounter:
    """httpx event hooks that count the HTTP attempts (retries included) and their status codes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests = 0
        self.statuses: list[int] = []

    def reset(self) -> None:
        with self._lock:
            self.requests, self.statuses = 0, []

    def on_request(self, request: Any) -> None:
        with self._lock:
            self.requests += 1

    def on_response(self, response: Any) -> None:
        with self._lock:
            self.statuses.append(int(response.status_code))


def _env_float(env: Mapping[str, str], name: str, default: float) -> float:
    try:
        value = float(env.get(name) or default)
        return value if value > 0 else default
    except ValueError:
        return default


def _env_int(env: Mapping[str, str], name: str, default: int) -> int:
    try:
        return max(0, int(env.get(name) or default))
    except ValueError:
        return default


class Provider:
    """Shared bookkeeping; subclasses implement `_create`."""

    name = "provider"

    def __init__(self, api_key: str, model: str, base_url: str | None, env: Mapping[str, str]) -> None:
        self._secrets = tuple(s for s in (api_key,) if s)
        self.model = model
        self.base_url = base_url or ""
        self.timeout_s = _env_float(env, "LLM_TIMEOUT_S", DEFAULT_TIMEOUT_S)
        self.max_retries = _env_int(env, "LLM_MAX_RETRIES", DEFAULT_MAX_RETRIES)
        self.price = price_for(model, env)
        self._counter = _RequestCounter()
        self._request_timeout = self.timeout_s

    def describe(self) -> dict[str, Any]:
        return {
            "provider": self.name,
            "model": self.model,
            "base_url": safe_url(self.base_url),
            "timeout_s": self.timeout_s,
            "max_retries": self.max_retries,
            "price_per_mtok": list(self.price) if self.price else None,
        }

    def _http_client(self, sdk: Any) -> Any:
        hooks = {"request": [self._counter.on_request], "response": [self._counter.on_response]}
        return sdk.DefaultHttpxClient(event_hooks=hooks)

    def complete(
        self,
        system: str,
        messages: list[dict[str, str]],
        spec: FunctionSpec | None = None,
        max_tokens: int = 4096,
        timeout_s: float | None = None,
    ) -> Completion:
        """One call; `timeout_s` (per HTTP attempt) may only shorten LLM_TIMEOUT_S, e.g. near the run's deadline."""
        self._request_timeout = min(self.timeout_s, timeout_s) if timeout_s else self.timeout_s
        self._counter.reset()
        t0 = time.monotonic()
        try:
            result = self._create(system, messages, spec, max_tokens)
        except ProviderError as exc:
            exc.http_requests, exc.statuses = self._counter.requests, list(self._counter.statuses)
            raise
        except Exception as exc:  # SDK errors, decoding errors: classify, scrub, re-raise as ours
            raise self._wrap(exc) from None
        result.http_requests = self._counter.requests
        result.statuses = list(self._counter.statuses)
        result.duration_s = round(time.monotonic() - t0, 3)
        return result

    def _wrap(self, exc: Exception) -> ProviderError:
        name = type(exc).__name__
        status = getattr(exc, "status_code", None)
        if "Timeout" in name:
            kind = "timeout"
        elif "Connection" in name:
            kind = "connection"
        elif status == 429:
            kind = "rate_limit"
        elif isinstance(status, int) and status >= 500:
            kind = "server"
        elif isinstance(status, int):
            kind = "client"
        else:
            kind = "client"
        message = getattr(exc, "message", None) or str(exc)
        text = scrub(f"{name}: {message}"[:600], self._secrets)
        return ProviderError(kind, text, self._counter.requests, list(self._counter.statuses), status)

    def scrub(self, text: str) -> str:
        return scrub(text, self._secrets)

    def _create(
        self, system: str, messages: list[dict[str, str]], spec: FunctionSpec | None, max_tokens: int
    ) -> Completion:
        raise NotImplementedError


class AnthropicProvider(Provider):
    name = "anthropic"

    def __init__(self, api_key: str, model: str, base_url: str | None, env: Mapping[str, str]) -> None:
        super().__init__(api_key, model, base_url, env)
        import anthropic

        self._sdk = anthropic
        self._client = anthropic.Anthropic(
            api_key=api_key or "none",
            base_url=base_url or None,
            timeout=self.timeout_s,
            max_retries=self.max_retries,
            http_client=self._http_client(anthropic),
        )

    def _create(
        self, system: str, messages: list[dict[str, str]], spec: FunctionSpec | None, max_tokens: int
    ) -> Completion:
        kwargs: dict[str, Any] = {"model": self.model, "max_tokens": max_tokens, "system": system, "messages": messages}
        if spec is not None:
            kwargs["tools"] = [{"name": spec.name, "description": spec.description, "input_schema": spec.schema}]
            kwargs["tool_choice"] = {"type": "tool", "name": spec.name}
        response = self._client.messages.create(**kwargs, timeout=self._request_timeout)
        text_parts, data = [], None
        for block in response.content or []:
            kind = getattr(block, "type", "")
            if kind == "text":
                text_parts.append(block.text or "")
            elif kind == "tool_use" and data is None:
                data = block.input
        usage = response.usage
        return Completion(
            text="\n".join(text_parts),
            data=data,
            tokens_in=int(getattr(usage, "input_tokens", 0) or 0),
            tokens_out=int(getattr(usage, "output_tokens", 0) or 0),
            mode="tools" if spec is not None else "text",
        )


class OpenAIProvider(Provider):
    """Chat completions. JSON answers use forced tool calls; servers that refuse tools get JSON mode, then plain text."""

    name = "openai"
    MODES = ("tools", "json_object", "text")

    def __init__(self, api_key: str, model: str | None, base_url: str | None, env: Mapping[str, str]) -> None:
        import openai

        self._sdk = openai
        super().__init__(api_key, model or "", base_url, env)
        self._client = openai.OpenAI(
            api_key=api_key or "none",
            base_url=base_url or None,
            timeout=self.timeout_s,
            max_retries=self.max_retries,
            http_client=self._http_client(openai),
        )
        self._mode_index = 0
        if not self.model:
            self.model = self._discover_model() or DEFAULT_MODELS["openai"]
            self.price = price_for(self.model, env)
        # OpenAI's reasoning models only take max_completion_tokens; older local servers only know max_tokens.
        self._token_param = (
            "max_completion_tokens" if re.match(r"(o\d|gpt-5)", self.model.split("/")[-1]) else "max_tokens"
        )

    def _discover_model(self) -> str | None:
        """A local server (Ollama, vLLM, llama.cpp, LM Studio) started without LLM_MODEL: use the model it serves."""
        if not self.base_url:
            return None
        try:
            listing = self._client.with_options(max_retries=0, timeout=min(self.timeout_s, 10.0)).models.list()
            ids = [m.id for m in listing.data]
            return ids[0] if ids else None
        except Exception:
            return None

    def _create(
        self, system: str, messages: list[dict[str, str]], spec: FunctionSpec | None, max_tokens: int
    ) -> Completion:
        msgs = [{"role": "system", "content": system}] + list(messages)
        while True:
            mode = self.MODES[self._mode_index] if spec is not None else "text"
            kwargs: dict[str, Any] = {"model": self.model, "messages": msgs, self._token_param: max_tokens}
            if mode == "tools":
                kwargs["tools"] = [
                    {
                        "type": "function",
                        "function": {"name": spec.name, "description": spec.description, "parameters": spec.schema},
                    }
                ]
                kwargs["tool_choice"] = {"type": "function", "function": {"name": spec.name}}
            elif mode == "json_object":
                kwargs["response_format"] = {"type": "json_object"}
            try:
                response = self._client.chat.completions.create(**kwargs, timeout=self._request_timeout)
            except self._sdk.APIStatusError as exc:
                text = str(getattr(exc, "message", "") or exc).lower()
                if exc.status_code in (400, 422) and self._token_param in text and "max_" in text:
                    # "Unsupported parameter: 'max_tokens' ... use 'max_completion_tokens'" (or the reverse)
                    self._token_param = "max_completion_tokens" if self._token_param == "max_tokens" else "max_tokens"
                    continue
                # A server without tool or JSON-mode support (400/404/422, or llama.cpp's 500 "tools param
                # requires --jinja flag") refuses the request: step down one mode and ask again.
                if (
                    spec is not None
                    and mode != "text"
                    and self._mode_index < len(self.MODES) - 1
                    and exc.status_code in (400, 404, 422, 500, 501)
                    and _mentions_feature(exc, mode)
                ):
                    self._mode_index += 1
                    continue
                raise
            break
        choice = response.choices[0] if response.choices else None
        message = choice.message if choice is not None else None
        text = (message.content or "") if message is not None else ""
        data = None
        for call in getattr(message, "tool_calls", None) or []:
            fn = getattr(call, "function", None)
            if fn is not None and (spec is None or fn.name == spec.name):
                try:
                    data = json.loads(fn.arguments or "null")
                except (TypeError, ValueError):
                    text = text or (fn.arguments or "")
                break
        usage = response.usage
        return Completion(
            text=text,
            data=data,
            tokens_in=int(getattr(usage, "prompt_tokens", 0) or 0),
            tokens_out=int(getattr(usage, "completion_tokens", 0) or 0),
            mode=mode,
        )


def _mentions_feature(exc: Exception, mode: str) -> bool:
    """Whether an error is about the tool / JSON-mode request itself (not about the prompt or the server's health)."""
    text = str(getattr(exc, "message", "") or exc).lower()
    words = ("tool", "function", "jinja") if mode == "tools" else ("response_format", "json_object", "json mode")
    return any(word in text for word in words)
