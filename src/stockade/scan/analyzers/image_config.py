"""The image-config analyzer interface: one small class per thing to find in an image config.

File analyzers read what the layers hold; these read what the image config says (ENV,
labels, history, user, exposed ports, the base image). The scanner runs the enabled ones
once per image and caches their findings beside the layers' results.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar, TypeVar

import msgspec

from stockade.model.inventory import Finding
from stockade.registry import Registry
from stockade.scan.analyzers.base import AnalyzerOptions
from stockade.scan.image import ImageConfig
from stockade.scan.options import Scanner

CONFIG_TARGET = "image config"  # what findings of the config name as their target
BASE_NAME_ANNOTATION = "org.opencontainers.image.base.name"


class ImageConfigInput(msgspec.Struct, frozen=True):
    """What an image-config analyzer looks at: the config and the manifest's annotations."""

    config: ImageConfig
    annotations: dict[str, str] = msgspec.field(default_factory=dict)

    @property
    def base_name(self) -> str:
        """The base image: the manifest's annotation, else a history "FROM name" comment."""
        annotated = self.annotations.get(BASE_NAME_ANNOTATION, "")
        return annotated or base_from_history(self.config)


def base_from_history(config: ImageConfig) -> str:
    """The base image a builder recorded in a history comment ("FROM name:tag"), if any."""
    for entry in config.history:
        if entry.comment.startswith("FROM "):
            return entry.comment[5:].strip()
    return ""


class ImageConfigAnalyzer(ABC):
    """Turns an image's config into findings of one kind."""

    id: ClassVar[str]
    version: ClassVar[int] = 1  # bump when its findings change: cached ones are then redone
    scanner: ClassVar[Scanner]

    def __init__(self, options: AnalyzerOptions) -> None:  # noqa: B027 - most need nothing
        """Most image-config analyzers need no options."""
        del options

    @abstractmethod
    def analyze(self, image: ImageConfigInput) -> list[Finding]:
        """The findings in this image's config, attributed to CONFIG_TARGET."""

    @classmethod
    def enabled(cls, options: AnalyzerOptions) -> bool:
        """False when this analyzer has nothing to do under `options`."""
        del options
        return True


C = TypeVar("C", bound=type[ImageConfigAnalyzer])
CONFIG_ANALYZERS: Registry[type[ImageConfigAnalyzer]] = Registry("image config analyzer")


def register_config_analyzer(cls: C) -> C:
    """Class decorator adding an image-config analyzer to the registry under its id."""
    CONFIG_ANALYZERS.register(cls.id, cls)
    return cls
