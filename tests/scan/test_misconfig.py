"""Dockerfile and image-config checks (ids follow Trivy's where they correspond)."""

from __future__ import annotations

import pytest

from stockade.scan.analyzers.image_config import base_from_history
from stockade.scan.errors import RuleError
from stockade.scan.image import HealthConfig, HistoryEntry, ImageConfig, RuntimeConfig
from stockade.scan.misconfig.dockerfile import parse_dockerfile
from stockade.scan.misconfig.engine import load_checks
from stockade.scan.misconfig.predicates import ImageFacts

ENGINE = load_checks()


def _ids(dockerfile: str) -> set[tuple[str, int]]:
    return {(f.id, f.line) for f in ENGINE.dockerfile("Dockerfile", parse_dockerfile(dockerfile))}


def test_parser_joins_continuations_and_tracks_stages() -> None:
    text = "FROM a AS build\n# c\nRUN echo 1 \\\n    && echo 2\nFROM b\nUSER app\n"
    instructions = parse_dockerfile(text)
    assert [(i.command, i.line, i.stage) for i in instructions] == [
        ("FROM", 1, 0), ("RUN", 3, 0), ("FROM", 5, 1), ("USER", 6, 1),
    ]  # fmt: skip
    assert instructions[1].value == "echo 1 && echo 2"


@pytest.mark.parametrize(
    ("dockerfile", "expected", "absent"),
    [
        ("FROM debian\nUSER root\n", {("DS-0001", 1), ("DS-0002", 2)}, set()),
        ("FROM debian:12\nUSER app\nHEALTHCHECK CMD true\n", set(), {"DS-0002", "DS-0026"}),
        ("FROM d:1\nEXPOSE 80 22/tcp\n", {("DS-0004", 2)}, set()),
        ("FROM d:1\nRUN apt-get install -y --no-install-recommends curl\n", set(), {"DS-0029"}),
        ("FROM d:1\nRUN apt-get update\n", {("DS-0017", 2)}, set()),
        (
            "FROM d:1\nADD app.py /app/\nADD https://x.io/t.tgz /opt/\n",
            {("DS-0005", 2), ("STK-DS-0001", 3)},
            set(),
        ),
        ("FROM d:1\nRUN cd /tmp && make\n", {("DS-0013", 2)}, set()),
    ],
    ids=["latest-root", "clean", "port22", "no-recommends", "update-alone", "add", "cd"],
)
def test_dockerfile_checks(
    dockerfile: str, expected: set[tuple[str, int]], absent: set[str]
) -> None:
    found = _ids(dockerfile)
    assert expected <= found
    assert not {i for i, _ in found} & absent


def test_image_config_checks() -> None:
    risky = ImageConfig(
        config=RuntimeConfig(Env=["DB_PASSWORD=hunter2", "PATH=/bin"], ExposedPorts={"22/tcp": {}}),
        history=[HistoryEntry(created_by="ADD https://example.com/x.tgz /opt")],
    )
    found = {f.id for f in ENGINE.image(ImageFacts(risky, "docker.io/library/debian:latest"), "c")}
    assert found == {f"STK-IMG-000{i}" for i in range(1, 7)}
    safe = ImageConfig(
        config=RuntimeConfig(User="1000", Healthcheck=HealthConfig(Test=["CMD", "true"]))
    )
    assert ENGINE.image(ImageFacts(safe, "debian:12"), "c") == []


def test_bad_checks_file_is_rejected() -> None:
    with pytest.raises(RuleError, match="unknown target/test"):
        load_checks("checks:\n  - {id: X, target: image, test: nope, title: t, severity: LOW}\n")


def test_base_image_from_history_comment() -> None:
    config = ImageConfig(
        history=[
            HistoryEntry(created_by="ADD file:x in /", comment="imported from tarball"),
            HistoryEntry(created_by="COPY a /a", comment="FROM docker.io/library/alpine:latest"),
        ]
    )
    base = base_from_history(config)
    assert base == "docker.io/library/alpine:latest"
    assert [f.id for f in ENGINE.image(ImageFacts(config, base), "c")
            if f.id == "STK-IMG-0006"] == ["STK-IMG-0006"]  # fmt: skip
