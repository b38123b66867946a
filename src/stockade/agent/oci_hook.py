"""The OCI `createRuntime` hook: asks the running agent to guard a container before it runs.

The runtime (runc, crun; podman, CRI-O and containerd read the same hook files) runs this
with the container's OCI state on stdin (id, pid, bundle) once its namespaces and rootfs
exist and before its entrypoint is executed. The hook sends that state to the agent's
unix socket and waits for the answer, at most `--deadline` seconds. No answer (no agent,
or one too slow) lets the container start unguarded (fail-open), unless the hook was
installed `--fail-closed`: then it exits non-zero and the runtime refuses to start the
container. Either way it says so on stderr, which the runtime logs.

It imports only the standard library: it runs for every container a host creates.
`hook_file` is the hook's JSON for a hooks directory (`install_hook`, `remove_hook`).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import time
from pathlib import Path
from typing import Any

HOOK_FILE = "stockade-guard.json"
DEFAULT_HOOKS_DIR = Path("/usr/share/containers/oci/hooks.d")
DEFAULT_DEADLINE_S = 2.0
MAX_MESSAGE = 1 << 16


def ask_agent(socket_path: str, state: dict[str, Any], deadline_s: float) -> dict[str, Any]:
    """Send the container's state to the agent and return its answer (OSError, ValueError
    when there is none in time or it is not JSON)."""
    request = {k: state.get(k) for k in ("id", "pid", "bundle")}
    end = time.monotonic() + deadline_s
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(deadline_s)
        conn.connect(socket_path)
        conn.sendall(json.dumps(request).encode() + b"\n")
        data = b""
        while not data.endswith(b"\n") and len(data) < MAX_MESSAGE:
            conn.settimeout(max(end - time.monotonic(), 0.001))
            chunk = conn.recv(4096)
            if not chunk:
                break
            data += chunk
    answer = json.loads(data)
    if not isinstance(answer, dict):
        raise ValueError("the agent's answer is no JSON object")
    return answer


def run(socket_path: str, deadline_s: float, fail_closed: bool, stdin: bytes) -> int:
    """The hook's exit status for the OCI state `stdin` (0: the container may start)."""
    try:
        state = json.loads(stdin)
        container = str(state["id"])
    except (ValueError, KeyError, TypeError) as e:
        print(f"stockade oci-hook: the OCI state on stdin is unreadable: {e}", file=sys.stderr)
        return 1 if fail_closed else 0
    try:
        answer = ask_agent(socket_path, state, deadline_s)
    except (OSError, ValueError) as e:
        problem = f"no answer from the agent at {socket_path} within {deadline_s:g} s ({e})"
    else:
        if answer.get("ok"):
            return 0
        problem = f"the agent could not guard it: {answer.get('error', 'no reason given')}"
    verdict = "refused (fail-closed)" if fail_closed else "starts unguarded (fail-open)"
    print(f"stockade oci-hook: container {container[:12]} {verdict}: {problem}", file=sys.stderr)
    return 1 if fail_closed else 0


def hook_file(socket_path: Path, deadline_s: float, fail_closed: bool) -> dict[str, Any]:
    """The hook's JSON for a hooks directory (format 1.0.0: every container, createRuntime)."""
    args = [sys.executable, "-m", "stockade.agent.oci_hook", "--socket", str(socket_path)]
    args += ["--deadline", f"{deadline_s:g}", *(["--fail-closed"] if fail_closed else [])]
    hook: dict[str, Any] = {"path": sys.executable, "args": args}
    if os.environ.get("PYTHONPATH"):  # where this agent's code is found, when not installed
        hook["env"] = [f"PYTHONPATH={os.environ['PYTHONPATH']}"]
    hook["timeout"] = int(deadline_s) + 5  # the runtime's own bound, past the hook's deadline
    return {"version": "1.0.0", "hook": hook, "when": {"always": True}, "stages": ["createRuntime"]}


def install_hook(hooks_dir: Path, socket_path: Path, deadline_s: float, fail_closed: bool) -> Path:
    """Write the hook's JSON into `hooks_dir` (atomically); its path."""
    hooks_dir.mkdir(parents=True, exist_ok=True)
    target = hooks_dir / HOOK_FILE
    partial = target.with_suffix(".partial")
    partial.write_text(json.dumps(hook_file(socket_path, deadline_s, fail_closed), indent=2))
    os.replace(partial, target)
    return target


def remove_hook(hooks_dir: Path) -> None:
    """Remove the hook's JSON from `hooks_dir` (containers then start without asking)."""
    (hooks_dir / HOOK_FILE).unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    """`python -m stockade.agent.oci_hook --socket PATH [--deadline S] [--fail-closed]`."""
    parser = argparse.ArgumentParser(prog="stockade agent oci-hook", description=__doc__)
    parser.add_argument("--socket", required=True, help="The agent's hook socket.")
    parser.add_argument("--deadline", type=float, default=DEFAULT_DEADLINE_S)
    parser.add_argument("--fail-closed", action="store_true")
    options = parser.parse_args(argv)
    return run(options.socket, options.deadline, options.fail_closed, sys.stdin.buffer.read())


if __name__ == "__main__":
    sys.exit(main())
