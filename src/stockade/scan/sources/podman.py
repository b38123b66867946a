"""A local podman/containers-storage image (`podman:NAME`), read through `podman save`."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from stockade.scan.errors import DigestMismatchError, SourceError
from stockade.scan.sources.blobstore import TarStore
from stockade.scan.sources.oci import OciImage
from stockade.scan.sources.rootfs import PODMAN_FLAGS

# podman reports a layer whose files no longer match the checksums it stored for them
# (a file of the layer's diff changed on disk) only as text: this is the one place it is
# matched. containers/storage words it `file integrity checksum failed for "PATH"`.
_INTEGRITY_FAILED = re.compile(r'file integrity checksum failed for "([^"]*)"')


class PodmanImage(OciImage):
    """A podman image saved once as an OCI archive in a private temporary directory."""

    def __init__(self, ref: str, name: str) -> None:
        podman = shutil.which("podman")
        if podman is None:
            raise SourceError("podman images need podman, which is not installed")
        self._tmp = tempfile.TemporaryDirectory(prefix="stockade-scan-")
        archive = Path(self._tmp.name) / "image.oci.tar"
        result = subprocess.run(
            [podman, *PODMAN_FLAGS, "save", "--format", "oci-archive", "-o", str(archive), name],
            capture_output=True,
            timeout=600,
            check=False,
        )
        if result.returncode != 0:
            self._tmp.cleanup()
            message = result.stderr.decode(errors="replace").strip()
            raise save_error(name, message)
        try:
            super().__init__(ref, TarStore(archive))
        except BaseException:
            self._tmp.cleanup()
            raise

    def close(self) -> None:
        """Close the archive and delete the temporary copy."""
        super().close()
        self._tmp.cleanup()


def save_error(name: str, message: str) -> SourceError:
    """The error for a failed `podman save`: DigestMismatchError naming the file when
    podman found a layer's content changed, else SourceError (pure)."""
    tampered = _INTEGRITY_FAILED.search(message)
    if tampered is not None:  # the one line saying so, not podman's progress lines
        line = next(x for x in message.splitlines() if tampered.group(0) in x).strip()
        file = "/" + tampered.group(1).lstrip("/")
        return DigestMismatchError(f"podman image {name}: {line}", file=file)
    return SourceError(f"podman image {name}: {message or 'cannot be saved'}")
