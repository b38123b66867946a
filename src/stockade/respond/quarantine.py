"""Quarantine: a file moved out of reach (hash, owner, mode and times kept), and restored.

The file is copied into the agent's quarantine dir (root only, the copy mode 0400) under
its SHA-256, beside a manifest saying where it came from; then the original is removed.
Restoring puts the same bytes back where they were, with their owner, mode and times,
after checking the hash.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import time
from pathlib import Path

from stockade.model.actions import ActionResult, ActionTarget
from stockade.respond.base import RESPONSE_ACTIONS, ActionContext, ResponseAction, done
from stockade.respond.errors import RespondError, TargetError
from stockade.respond.execblock import host_path

CHUNK = 1024 * 1024


def sha256_of(path: Path) -> str:
    """The SHA-256 of a file's content (hex)."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _manifest_path(context: ActionContext, target: ActionTarget) -> Path:
    key = hashlib.sha256(f"{target.container_id}\0{target.path}".encode()).hexdigest()[:32]
    return context.quarantine_dir / f"{key}.json"


class QuarantineFile(ResponseAction):
    """Move a file out of reach, keeping what is needed to put it back."""

    name = "quarantine_file"
    summary = "move a file into the agent's quarantine (hash, owner, mode kept; restorable)"
    needs = ("path",)

    def run(self, target: ActionTarget, context: ActionContext) -> ActionResult:
        """Copy the file into quarantine, record its manifest, then remove the original."""
        source = host_path(target)
        info = os.lstat(source) if source.exists() else None
        if info is None or not stat.S_ISREG(info.st_mode):
            raise TargetError(f"no regular file {target.path} to quarantine")
        context.quarantine_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        digest = sha256_of(source)
        kept = context.quarantine_dir / digest
        if not kept.exists():
            shutil.copyfile(source, kept)
            kept.chmod(0o400)
        if sha256_of(kept) != digest:
            raise RespondError(f"quarantine copy of {target.path} differs; original left")
        manifest = {
            "path": target.path,
            "container_id": target.container_id,
            "sha256": digest,
            "uid": info.st_uid,
            "gid": info.st_gid,
            "mode": stat.S_IMODE(info.st_mode),
            "atime_ns": info.st_atime_ns,
            "mtime_ns": info.st_mtime_ns,
            "quarantined_at": time.time_ns(),
        }
        _manifest_path(context, target).write_text(json.dumps(manifest))
        source.unlink()
        return done(f"quarantined {target.path}", sha256=digest, kept=str(kept))


class RestoreFile(ResponseAction):
    """Put a quarantined file back where it was, as it was."""

    name = "restore_file"
    summary = "restore a quarantined file (same bytes, owner, mode and times)"
    needs = ("path",)

    def run(self, target: ActionTarget, context: ActionContext) -> ActionResult:
        """Check the kept copy's hash, write it back, then set owner, mode and times."""
        manifest_path = _manifest_path(context, target)
        if not manifest_path.exists():
            raise TargetError(f"{target.path} is not in quarantine")
        manifest = json.loads(manifest_path.read_text())
        kept = context.quarantine_dir / manifest["sha256"]
        if sha256_of(kept) != manifest["sha256"]:
            raise RespondError(f"quarantined copy of {target.path} is damaged; not restored")
        destination = host_path(target)
        if destination.exists():
            raise TargetError(f"{target.path} exists again; move it away first")
        partial = destination.with_name(f".{destination.name}.stockade-restore")
        shutil.copyfile(kept, partial)
        os.chown(partial, manifest["uid"], manifest["gid"])
        partial.chmod(manifest["mode"])
        os.utime(partial, ns=(manifest["atime_ns"], manifest["mtime_ns"]))
        partial.rename(destination)
        manifest_path.unlink()
        if not any(
            json.loads(p.read_text())["sha256"] == manifest["sha256"]
            for p in context.quarantine_dir.glob("*.json")
        ):
            kept.unlink()
        return done(f"restored {target.path}", sha256=manifest["sha256"])


RESPONSE_ACTIONS.register(QuarantineFile.name, QuarantineFile())
RESPONSE_ACTIONS.register(RestoreFile.name, RestoreFile())
