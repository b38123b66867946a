"""Secrets baked into an image config: ENV values, labels and history lines."""

from __future__ import annotations

import msgspec

from stockade.model.inventory import Finding
from stockade.scan.image import ImageConfig
from stockade.scan.secrets.engine import SecretEngine

CONFIG_TARGET = "image config"


def config_text(config: ImageConfig) -> str:
    """The config's ENV, labels and history rendered as Dockerfile-like lines."""
    lines = [f"ENV {e}" for e in config.config.Env or []]
    lines += [f"LABEL {k}={v}" for k, v in (config.config.Labels or {}).items()]
    lines += [h.created_by for h in config.history if h.created_by]
    return "\n".join(lines) + "\n"


def config_secrets(engine: SecretEngine, config: ImageConfig) -> list[Finding]:
    """Secret findings in the image config, attributed to the config itself."""
    findings = engine.scan(CONFIG_TARGET, config_text(config).encode())
    return [msgspec.structs.replace(f, target=CONFIG_TARGET, path="") for f in findings]
