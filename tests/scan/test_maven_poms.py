"""Maven POMs: a project without <licenses> inherits its parent's (from a Maven repository
layout or the same archive), and its run-time <dependencies> become dependency edges."""

from __future__ import annotations

import zipfile
from pathlib import Path

from stockade.model.inventory import Ecosystem, Package
from stockade.scan.analyzers.pom import parse_pom
from stockade.scan.options import Scanner, ScanOptions
from stockade.scan.scanner import scan_fs

NS = 'xmlns="http://maven.apache.org/POM/4.0.0"'


def _pom(
    group: str,
    artifact: str,
    version: str,
    *,
    parent: tuple[str, str, str] | None = None,
    licence: str = "",
    dependencies: tuple[tuple[str, str, str], ...] = (),
) -> str:
    parts = [f"<project {NS}><modelVersion>4.0.0</modelVersion>"]
    if parent:
        g, a, v = parent
        parts.append(f"<parent><groupId>{g}</groupId><artifactId>{a}</artifactId>")
        parts.append(f"<version>{v}</version></parent>")
    parts.append(f"<groupId>{group}</groupId><artifactId>{artifact}</artifactId>")
    parts.append(f"<version>{version}</version>")
    if licence:
        parts.append(f"<licenses><license><name>{licence}</name></license></licenses>")
    if dependencies:
        parts.append("<dependencies>")
        for g, a, scope in dependencies:
            scope_tag = f"<scope>{scope}</scope>" if scope else ""
            parts.append(f"<dependency><groupId>{g}</groupId><artifactId>{a}</artifactId>")
            parts.append(f"<version>1</version>{scope_tag}</dependency>")
        parts.append("</dependencies>")
    return "".join(parts) + "</project>"


def _jar(path: Path, poms: dict[tuple[str, str, str], str]) -> None:
    """A jar holding META-INF/maven/<g>/<a>/pom.xml and pom.properties for each POM."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\n")
        for (group, artifact, version), pom in poms.items():
            base = f"META-INF/maven/{group}/{artifact}/"
            properties = f"groupId={group}\nartifactId={artifact}\nversion={version}\n"
            archive.writestr(base + "pom.properties", properties)
            archive.writestr(base + "pom.xml", pom)


def _repository_artifact(repo: Path, gav: tuple[str, str, str], pom: str, jar: bool) -> None:
    group, artifact, version = gav
    directory = repo.joinpath(*group.split("."), artifact, version)
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{artifact}-{version}.pom").write_text(pom)
    if jar:
        _jar(directory / f"{artifact}-{version}.jar", {gav: pom})


def _maven(tmp_path: Path) -> dict[str, Package]:
    result = scan_fs(tmp_path, ScanOptions(cache_dir=None, scanners=frozenset({Scanner.PKG})))
    return {p.name: p for p in result.packages if p.ecosystem is Ecosystem.MAVEN}


def test_licences_inherited_through_a_repository_layout(tmp_path: Path) -> None:
    repo = tmp_path / "root" / ".m2" / "repository"
    grandparent = ("org.example", "example-root", "7")
    parent = ("org.example", "example-parent", "3.1")
    child = ("org.example", "child", "1.0")
    lib = ("org.example", "lib", "2.0")
    licence = "The Apache Software License, Version 2.0"
    _repository_artifact(repo, grandparent, _pom(*grandparent, licence=licence), jar=False)
    _repository_artifact(repo, parent, _pom(*parent, parent=grandparent), jar=False)
    dependencies = (("org.example", "lib", ""), ("junit", "junit", "test"))
    child_pom = _pom(*child, parent=parent, dependencies=dependencies)
    _repository_artifact(repo, child, child_pom, jar=True)
    _repository_artifact(repo, lib, _pom(*lib, licence="MIT"), jar=True)
    orphan = ("org.other", "orphan", "1.0")  # its parent is nowhere to be found
    _repository_artifact(repo, orphan, _pom(*orphan, parent=("org.other", "gone", "1")), True)

    found = _maven(tmp_path)
    assert found["org.example:child"].licenses == ("Apache-2.0",)  # from the grandparent
    assert found["org.example:lib"].licenses == ("MIT",)  # its own
    assert found["org.other:orphan"].licenses == ()
    assert found["org.example:child"].depends_on == (found["org.example:lib"].id,)  # not junit


def test_licences_inherited_from_a_parent_in_the_same_archive(tmp_path: Path) -> None:
    base = ("com.acme", "acme-base", "2.0")
    app = ("com.acme", "app", "5.0")
    _jar(
        tmp_path / "opt" / "app.jar",
        {
            app: _pom(*app, parent=base),
            base: _pom(*base, licence="Eclipse Public License - v 2.0"),
        },
    )
    found = _maven(tmp_path)
    assert found["com.acme:app"].licenses == ("EPL-2.0",)


def test_pom_properties_and_scopes() -> None:
    pom = parse_pom(
        f"<project {NS}><parent><groupId>g</groupId><artifactId>p</artifactId>"
        "<version>9</version></parent><artifactId>a</artifactId>"
        "<properties><dep.group>org.x</dep.group></properties><dependencies>"
        "<dependency><groupId>${project.groupId}</groupId><artifactId>core</artifactId>"
        "</dependency><dependency><groupId>${dep.group}</groupId><artifactId>rt</artifactId>"
        "<scope>runtime</scope></dependency><dependency><groupId>javax</groupId>"
        "<artifactId>api</artifactId><scope>provided</scope></dependency>"
        "<dependency><groupId>o</groupId><artifactId>opt</artifactId>"
        "<optional>true</optional></dependency></dependencies></project>"
    )
    assert pom is not None
    assert (pom.group, pom.artifact, pom.version, pom.parent) == ("g", "a", "9", "g:p:9")
    assert pom.dependencies == ("g:core", "org.x:rt")
    assert parse_pom("<notapom/>") is None and parse_pom("<project><") is None
