"""Secrets baked into an image config: ENV values, labels and history lines."""

from __future__ import annotations

import msgspec

from stockade.model.inventory import Finding
from stockade.scan.analyzers.base import AnalyzerOptions
from stockade.scan.analyzers.image_config import (
    CONFIG_TARGET,
    ImageConfigAnalyzer,
    ImageConfigInput,
    register_config_analyzer,
)
from stockade.scan.image import ImageConfig
from stockade.scan.options import Scanner


def config_text(config: ImageConfig) -> str:
    """The config's ENV, labels and history rendered as Dockerfile-like lines."""
    lines = [f"ENV {e}" for e in config.config.Env or []]
    lines += [f"LABEL {k}={v}" for k, v in (config.config.Labels or {}).items()]
    lines += [h.created_by for h in config.history if h.created_by]
    return "\n".join(lines) + "\n"


@register_config_analyzer
class ConfigSecretAnalyzer(ImageConfigAnalyzer):
    """The secret rules run over the config's ENV, labels and history."""

    id = "config-secrets"
    scanner = Scanner.SECRET

    def __init__(self, options: AnalyzerOptions) -> None:
        from stockade.scan.secrets.engine import engine_for  # rules compile only when needed

        self._engine = engine_for(options.secret_config)

    def analyze(self, image: ImageConfigInput) -> list[Finding]:
        """Secret findings in the config, attributed to the config itself."""
        findings = self._engine.scan(CONFIG_TARGET, config_text(image.config).encode())
        return [msgspec.structs.replace(f, target=CONFIG_TARGET, path="") for f in findings]
