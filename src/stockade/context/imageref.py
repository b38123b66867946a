"""Image references as runtimes write them: `[registry[:port]/]repo[:tag][@sha256:...]`."""

from __future__ import annotations


def split_reference(ref: str) -> tuple[str, str, str]:
    """(repository, tag, digest) of an image reference, each empty when absent."""
    name, _, digest = ref.partition("@")
    slash, colon = name.rfind("/"), name.rfind(":")
    repository, tag = (name[:colon], name[colon + 1 :]) if colon > slash else (name, "")
    return repository, tag, digest if digest.startswith("sha256:") else ""
