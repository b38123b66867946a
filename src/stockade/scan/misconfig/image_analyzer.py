"""Misconfigurations of an image config (root user, no healthcheck, latest base, ...)."""

from __future__ import annotations

from stockade.model.inventory import Finding
from stockade.scan.analyzers.base import AnalyzerOptions
from stockade.scan.analyzers.image_config import (
    CONFIG_TARGET,
    ImageConfigAnalyzer,
    ImageConfigInput,
    register_config_analyzer,
)
from stockade.scan.options import Scanner


@register_config_analyzer
class ImageMisconfigAnalyzer(ImageConfigAnalyzer):
    """The `image` checks of the misconfiguration checks file."""

    id = "image-misconfig"
    scanner = Scanner.MISCONFIG

    def __init__(self, options: AnalyzerOptions) -> None:
        del options
        from stockade.scan.misconfig.engine import load_checks  # checks load only when needed

        self._engine = load_checks()

    def analyze(self, image: ImageConfigInput) -> list[Finding]:
        """Failed image checks, given the config and the base image name."""
        from stockade.scan.misconfig.predicates import ImageFacts

        return self._engine.image(ImageFacts(image.config, image.base_name), CONFIG_TARGET)
