"""Reading origin details out of an alert's Falco output fields."""

from __future__ import annotations


def image_of(fields: dict[str, object]) -> str:
    """repository[:tag] from Falco's container.image.repository and container.image.tag."""
    repository = str(fields.get("container.image.repository") or "")
    tag = str(fields.get("container.image.tag") or "")
    return f"{repository}:{tag}" if repository and tag else repository
