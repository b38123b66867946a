"""The two shapes a scan target takes: a layered image or a plain root filesystem."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from stockade.model.inventory import LayerRef
from stockade.scan.files import Readable
from stockade.scan.image import ImageConfig

__all__ = ["ImageSource", "Layer", "Readable", "RootfsSource", "Source"]


@dataclass(frozen=True, slots=True)
class Layer:
    """One layer of an image: where it came from and how its blob is stored."""

    ref: LayerRef
    media_type: str = ""
    size: int = -1


class Source(ABC):
    """Something to scan; a context manager that releases what it opened."""

    ref: str

    def close(self) -> None:  # noqa: B027 - most sources hold nothing to release
        """Release files and temporary data."""

    def __enter__(self) -> Source:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class ImageSource(Source):
    """A layered image: config, manifest digest and layer blobs in order."""

    manifest_digest: str = ""
    config_digest: str = ""

    def annotations(self) -> dict[str, str]:
        """Manifest annotations (e.g. the base image name); empty when the format has none."""
        return {}

    @abstractmethod
    def config(self) -> ImageConfig:
        """The image config."""

    @abstractmethod
    def layers(self) -> list[Layer]:
        """The layers, bottom first."""

    @abstractmethod
    def open_layer(self, layer: Layer) -> Readable:
        """The layer blob as stored (maybe compressed); digests are checked when read to EOF."""


class RootfsSource(Source):
    """A directory holding a root filesystem (a rootfs dir or a container's merged view)."""

    @property
    @abstractmethod
    def root(self) -> Path:
        """The directory to walk."""
