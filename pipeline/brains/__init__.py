"""Brains: who writes the code and makes the decisions. `make_brain` picks one from the config.

Settings come from the `secrets` dict (the app's `st.secrets` / session) first, then the environment:
LLM_PROVIDER (auto | offline | anthropic | openai), ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL, OPENAI_API_KEY,
OPENAI_BASE_URL, LLM_MODEL, LLM_TIMEOUT_S, LLM_MAX_RETRIES, LLM_MAX_COST_USD, LLM_REPAIR_ATTEMPTS.
An explicit `config.brain` (the CLI's --brain, the app's choice) overrides LLM_PROVIDER; `config.model`
(--model) overrides LLM_MODEL.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from pipeline.brains.base import Brain
from pipeline.brains.offline import OfflineBrain
from pipeline.brains.providers import DEFAULT_MODELS, scrub
from pipeline.state import RunConfig

SETTINGS = (
    "LLM_PROVIDER",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_BASE_URL",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "LLM_MODEL",
    "LLM_TIMEOUT_S",
    "LLM_MAX_RETRIES",
    "LLM_MAX_COST_USD",
    "LLM_REPAIR_ATTEMPTS",
    "LLM_DOWN_AFTER",
    "LLM_PRICE_IN_PER_MTOK",
    "LLM_PRICE_OUT_PER_MTOK",
)
CHOICES = ("auto", "offline", "anthropic", "openai")


class UnavailableOfflineBrain(OfflineBrain):
    """The offline brain standing in for an LLM brain that could not be built; its usage says why."""

    def __init__(self, requested: str, reason: str) -> None:
        self.requested = requested
        self.unavailable_reason = reason  # the run says so at its start (engine.prepare)

    def usage(self) -> dict[str, Any]:
        return {
            "brain": "offline",
            "requested": self.requested,
            "fallbacks": [{"phase": "setup", "method": "make_brain", "reason": self.unavailable_reason}],
        }


def settings_from(secrets: Mapping[str, Any] | None, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The LLM settings: a non-empty value in `secrets` wins over the environment's."""
    environ = os.environ if environ is None else environ
    secrets = secrets or {}
    merged: dict[str, str] = {}
    for name in SETTINGS:
        value = secrets.get(name)
        if value in (None, ""):
            value = environ.get(name)
        if value not in (None, ""):
            merged[name] = str(value).strip()
    return merged


def resolve_provider(choice: str, settings: Mapping[str, str]) -> str:
    """offline, anthropic or openai for a --brain / LLM_PROVIDER choice."""
    choice = (choice or "auto").lower()
    if choice == "auto":
        choice = (settings.get("LLM_PROVIDER") or "auto").lower()
    if choice not in CHOICES:
        choice = "auto"
    if choice == "auto":
        if settings.get("ANTHROPIC_API_KEY"):
            return "anthropic"
        if settings.get("OPENAI_API_KEY") or settings.get("OPENAI_BASE_URL"):
            return "openai"
        return "offline"
    return choice


def make_brain(config: RunConfig, secrets: Mapping[str, Any] | None = None) -> Brain:
    """The brain the config asks for; 'auto' gives an LLM brain (inside the offline fallback layer) when a key or
    a local server is configured."""
    settings = settings_from(secrets)
    provider_name = resolve_provider(config.brain, settings)
    if provider_name == "offline":
        return OfflineBrain()
    model = (
        config.model
        or settings.get("LLM_MODEL")
        or (DEFAULT_MODELS["anthropic"] if provider_name == "anthropic" else None)
    )
    try:
        from pipeline.brains.fallback import FallbackBrain
        from pipeline.brains.llm import LLMBrain
        from pipeline.brains.providers import AnthropicProvider, OpenAIProvider

        if provider_name == "anthropic":
            key, base = settings.get("ANTHROPIC_API_KEY", ""), settings.get("ANTHROPIC_BASE_URL")
            if not key and not base:
                return UnavailableOfflineBrain("anthropic", "ANTHROPIC_API_KEY is not set")
            provider = AnthropicProvider(key, model, base, settings)
        else:
            key, base = settings.get("OPENAI_API_KEY", ""), settings.get("OPENAI_BASE_URL")
            if not key and not base:
                return UnavailableOfflineBrain("openai", "neither OPENAI_API_KEY nor OPENAI_BASE_URL is set")
            provider = OpenAIProvider(key, model, base, settings)
        return FallbackBrain(LLMBrain(provider, settings), provider.scrub)
    except Exception as exc:  # a missing SDK or a bad setting must not stop the run
        secrets_list = [settings.get("ANTHROPIC_API_KEY", ""), settings.get("OPENAI_API_KEY", "")]
        return UnavailableOfflineBrain(provider_name, scrub(f"{type(exc).__name__}: {exc}", secrets_list)[:300])
