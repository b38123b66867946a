"""The closed set of tests misconfiguration checks can name, with their parameters."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from stockade.registry import Registry
from stockade.scan.image import ImageConfig
from stockade.scan.misconfig.dockerfile import Instruction

ARCHIVE_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tar.xz", ".txz", ".tbz2")
ROOT_USERS = frozenset({"root", "0", "root:root", "0:0"})


@dataclass(frozen=True, slots=True)
class Hit:
    """Where a check failed and why."""

    line: int = 0
    message: str = ""


@dataclass(frozen=True, slots=True)
class ImageFacts:
    """What image checks look at: the config and the base image name if known."""

    config: ImageConfig
    base_name: str = ""


DockerfileTest = Callable[[list[Instruction], dict[str, str]], list[Hit]]
ImageTest = Callable[[ImageFacts, dict[str, str]], list[Hit]]
DOCKERFILE_TESTS: Registry[DockerfileTest] = Registry("dockerfile test")
IMAGE_TESTS: Registry[ImageTest] = Registry("image test")


def _final_stage(instructions: list[Instruction]) -> list[Instruction]:
    last = max((i.stage for i in instructions), default=0)
    return [i for i in instructions if i.stage == last]


def _base_tag_latest(ins: list[Instruction], _params: dict[str, str]) -> list[Hit]:
    stages = {
        i.value.split()[-1].lower()
        for i in ins
        if i.command == "FROM" and " as " in i.value.lower()
    }
    hits = []
    for i in ins:
        if i.command != "FROM" or not i.arguments():
            continue
        image = next((a for a in i.arguments() if not a.startswith("--")), "")
        if image == "scratch" or image.lower() in stages or "@" in image or image.startswith("$"):
            continue
        tag = image.rsplit("/", 1)[-1].partition(":")[2]
        if tag in ("", "latest"):
            hits.append(Hit(i.line, f"'{image}' has no pinned tag"))
    return hits


def _last_user_root(ins: list[Instruction], _params: dict[str, str]) -> list[Hit]:
    users = [i for i in _final_stage(ins) if i.command == "USER"]
    if not users:
        return [Hit(0, "no USER: the container runs as root")]
    last = users[-1]
    return [Hit(last.line, "last USER is root")] if last.value.strip() in ROOT_USERS else []


def _exposes_port(ins: list[Instruction], params: dict[str, str]) -> list[Hit]:
    port = params["port"]
    return [
        Hit(i.line, f"port {port} exposed")
        for i in ins
        if i.command == "EXPOSE" and any(a.split("/")[0] == port for a in i.arguments())
    ]


def _add_sources(i: Instruction) -> list[str]:
    return [a for a in i.arguments() if not a.startswith("--")][:-1]


def _add_local_file(ins: list[Instruction], _params: dict[str, str]) -> list[Hit]:
    return [
        Hit(i.line, "ADD of a local file")
        for i in ins
        if i.command == "ADD"
        and any("://" not in s and not s.endswith(ARCHIVE_SUFFIXES) for s in _add_sources(i))
    ]


def _add_from_url(ins: list[Instruction], _params: dict[str, str]) -> list[Hit]:
    return [
        Hit(i.line, "ADD of a remote URL")
        for i in ins
        if i.command == "ADD" and any("://" in s for s in _add_sources(i))
    ]


def _run_matches(ins: list[Instruction], params: dict[str, str]) -> list[Hit]:
    pattern = re.compile(params["pattern"])
    return [Hit(i.line) for i in ins if i.command == "RUN" and pattern.search(i.value)]


def _run_missing_flag(ins: list[Instruction], params: dict[str, str]) -> list[Hit]:
    command = re.compile(params["command"])
    hits = []
    for i in ins:
        if i.command != "RUN":
            continue
        for part in re.split(r"&&|;|\|\|", i.value):
            if command.search(part) and params["flag"] not in part:
                hits.append(Hit(i.line))
                break
    return hits


def _apt_update_alone(ins: list[Instruction], _params: dict[str, str]) -> list[Hit]:
    return [
        Hit(i.line)
        for i in ins
        if i.command == "RUN"
        and re.search(r"apt(-get)?\s+update", i.value)
        and not re.search(r"apt(-get)?\s+(\S+\s+)*install", i.value)
    ]


def _missing_instruction(ins: list[Instruction], params: dict[str, str]) -> list[Hit]:
    wanted = params["instruction"].upper()
    return [] if any(i.command == wanted for i in ins) else [Hit(0, f"no {wanted}")]


def _image_runs_as_root(facts: ImageFacts, _params: dict[str, str]) -> list[Hit]:
    user = facts.config.config.User.strip()
    return [Hit(message=f"user is {user or 'unset (root)'}")] if user in ("", *ROOT_USERS) else []


def _image_no_healthcheck(facts: ImageFacts, _params: dict[str, str]) -> list[Hit]:
    health = facts.config.config.Healthcheck
    test = health.Test if health is not None else None
    return [] if test and test[0] != "NONE" else [Hit(message="no health check")]


def _image_exposes_port(facts: ImageFacts, params: dict[str, str]) -> list[Hit]:
    ports = facts.config.config.ExposedPorts or {}
    port = params["port"]
    return [Hit(message=f"exposes {p}") for p in ports if p.split("/")[0] == port]


def _image_secret_env(facts: ImageFacts, params: dict[str, str]) -> list[Hit]:
    pattern = re.compile(params["pattern"])
    hits = []
    for entry in facts.config.config.Env or []:
        name, _, value = entry.partition("=")
        if value and pattern.search(name):
            hits.append(Hit(message=f"ENV {name} holds a value"))
    return hits


def _image_add_url(facts: ImageFacts, _params: dict[str, str]) -> list[Hit]:
    url = re.compile(r"\bADD\b.*\b(https?|ftp)://")
    return [
        Hit(message=h.created_by[:200]) for h in facts.config.history if url.search(h.created_by)
    ]


def _image_base_latest(facts: ImageFacts, _params: dict[str, str]) -> list[Hit]:
    name = facts.base_name
    if not name or "@" in name:
        return []
    tag = name.rsplit("/", 1)[-1].partition(":")[2]
    return [Hit(message=f"base image {name}")] if tag in ("", "latest") else []


_dockerfile_tests: dict[str, DockerfileTest] = {
    "base_tag_latest": _base_tag_latest,
    "last_user_root": _last_user_root,
    "exposes_port": _exposes_port,
    "add_local_file": _add_local_file,
    "add_from_url": _add_from_url,
    "run_matches": _run_matches,
    "run_missing_flag": _run_missing_flag,
    "apt_update_alone": _apt_update_alone,
    "missing_instruction": _missing_instruction,
}
_image_tests: dict[str, ImageTest] = {
    "image_runs_as_root": _image_runs_as_root,
    "image_no_healthcheck": _image_no_healthcheck,
    "image_exposes_port": _image_exposes_port,
    "image_secret_env": _image_secret_env,
    "image_add_url": _image_add_url,
    "image_base_latest": _image_base_latest,
}
for _key, _dockerfile_test in _dockerfile_tests.items():
    DOCKERFILE_TESTS.register(_key, _dockerfile_test)
for _key, _image_test in _image_tests.items():
    IMAGE_TESTS.register(_key, _image_test)
