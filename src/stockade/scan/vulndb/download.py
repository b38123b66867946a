"""Fetching an advisory archive or file over http(s) for import (never at scan time)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

from stockade.scan.vulndb.formats import VulnDBError


def download(url: str, into: Path, timeout: float = 60.0) -> Path:
    """Save `url` under `into`, keeping its file name (its suffix tells the format)."""
    import httpx  # only an import from a URL needs an HTTP client

    name = Path(urlparse(url).path).name or "download.json"
    target = into / name
    try:
        with httpx.stream("GET", url, timeout=timeout, follow_redirects=True) as response:
            response.raise_for_status()
            with target.open("wb") as out:
                for chunk in response.iter_bytes():
                    out.write(chunk)
    except httpx.HTTPError as e:
        raise VulnDBError(f"cannot download {url}: {e}") from e
    return target
