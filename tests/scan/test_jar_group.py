"""A jar's groupId when no pom.properties or repository path names it (Syft's convention):
each manifest attribute in turn, then the package of its classes; only reverse domains;
the package says where its group came from (`group_source`)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from stockade.model.inventory import Package
from stockade.scan.analyzers import AnalyzerOptions
from stockade.scan.analyzers.jar import JarAnalyzer
from stockade.scan.analyzers.jar_group import class_package_group, reverse_domain
from stockade.scan.files import FileInfo
from stockade.scan.options import Scanner, ScanOptions
from stockade.scan.scanner import scan_fs
from tests.support.ci import require_file

JAVA = Path("/usr/share/java")  # Debian's jars: no embedded POM, no repository layout
CLASSES = {"org/example/lib/a/A.class": b"\xca\xfe", "org/example/lib/b/B.class": b"\xca\xfe"}


def _jar(manifest: list[str], files: dict[str, bytes] | None = None) -> bytes:
    text = "\r\n".join(["Manifest-Version: 1.0", *manifest]) + "\r\n"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("META-INF/MANIFEST.MF", text)
        for name, data in (files or {}).items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _own(path: str, content: bytes) -> Package:
    analysis = JarAnalyzer(AnalyzerOptions()).analyze(
        FileInfo(path=path, size=len(content)), content
    )
    assert analysis is not None
    (package,) = [p for p in analysis.packages if p.path == path]
    return package


@pytest.mark.parametrize(
    ("attribute", "value", "group"),
    [
        ("Implementation-Vendor-Id", "org.example", "org.example"),
        ("Bundle-SymbolicName", "com.github.ben-manes.caffeine", "com.github.ben-manes.caffeine"),
        (
            "Bundle-SymbolicName",
            "org.apache.geronimo.specs.geronimo-annotation_1.3_spec;singleton=true",
            "org.apache.geronimo.specs",
        ),
        ("Bundle-SymbolicName", "com.example.widgets-core", "com.example"),
        ("Automatic-Module-Name", "com.example.widgets", "com.example.widgets"),
        ("Extension-Name", "net.example.ext", "net.example.ext"),
        ("Specification-Vendor", "io.example", "io.example"),
        ("Implementation-Vendor", "org.example.vendor", "org.example.vendor"),
    ],
)
def test_each_manifest_attribute_gives_a_group(attribute: str, value: str, group: str) -> None:
    package = _own("lib/widgets-2.0.jar", _jar([f"{attribute}: {value}"], CLASSES))
    assert (package.name, package.version) == (f"{group}:widgets", "2.0")
    assert package.group_source == attribute


def test_the_first_attribute_in_order_wins() -> None:
    manifest = ["Specification-Vendor: org.spec", "Extension-Name: org.extension"]
    package = _own("lib/widgets-2.0.jar", _jar(manifest))
    assert (package.name, package.group_source) == ("org.extension:widgets", "Extension-Name")


def test_the_package_of_the_classes_is_the_last_resort() -> None:
    files = {**CLASSES, "META-INF/versions/9/module-info.class": b"", "module-info.class": b""}
    package = _own("lib/widgets-2.0.jar", _jar(["Specification-Vendor: Example Corp"], files))
    assert (package.name, package.group_source) == ("org.example.lib:widgets", "class-package")
    deep = {f"org/apache/maven/wagon/providers/http/C{i}.class": b"" for i in range(2)}
    assert class_package_group(deep) == "org.apache.maven.wagon"  # at most four labels


@pytest.mark.parametrize(
    "manifest",
    [
        ["Specification-Vendor: The Apache Software Foundation"],
        ["Implementation-Vendor: Oracle, Inc."],
        ["Bundle-SymbolicName: javax.inject"],  # Java's namespace, no domain anyone owns
        ["Bundle-SymbolicName: guava"],
        ["Automatic-Module-Name: example.widgets"],
        ["Implementation-Vendor-Id: org.apache"],  # a parent POM's, set for every project
    ],
)
def test_a_value_that_is_no_reverse_domain_is_not_used(manifest: list[str]) -> None:
    classes = {"gnu/gettext/GettextResource.class": b"", "javax/inject/Inject.class": b""}
    package = _own("lib/widgets-2.0.jar", _jar(manifest, classes))
    assert (package.name, package.group_source) == ("widgets", "")


def test_reverse_domains() -> None:
    for value in ("com.google.inject", "org.apache.geronimo.specs", "io.netty"):
        assert reverse_domain(value), value
    for value in ("javax.inject", "com", "The Apache Software Foundation", "org.-x", "gnu.gettext"):
        assert not reverse_domain(value), value


@pytest.mark.parametrize(
    ("file_name", "name", "source"),
    [
        # its pom.properties names another artifact (geronimo-annotation_1.3_spec)
        (
            "geronimo-annotation-1.3-spec.jar",
            "org.apache.geronimo.specs:geronimo-annotation",
            "Bundle-SymbolicName",
        ),
        # its pom.properties are those of the libraries shaded into it
        (
            "wagon-http-shaded-3.5.3.jar",
            "org.apache.maven.wagon:wagon-http-shaded",
            "class-package",
        ),
        ("libintl-0.21.jar", "libintl", ""),  # gnu.gettext: no reverse domain
    ],
)
def test_debian_jars(file_name: str, name: str, source: str) -> None:
    jar = require_file(JAVA / file_name, "Debian jar (install-system-deps.sh test)")
    content = jar.read_bytes()
    analysis = JarAnalyzer(AnalyzerOptions()).analyze(
        FileInfo(path=str(jar), size=len(content)), content
    )
    assert analysis is not None
    inferred = {
        (p.name, p.group_source) for p in analysis.packages if p.group_source != "pom.properties"
    }
    assert inferred == {(name, source)}


def test_a_repository_pom_outranks_an_inferred_group(tmp_path: Path) -> None:
    """Scanned from a repository's root no path part says where the group starts: the POM
    beside the jar does, and outranks the classes' package (org.junit.jupiter.engine)."""
    version_dir = tmp_path / "org/junit/jupiter/junit-jupiter-engine/5.10.2"
    version_dir.mkdir(parents=True)
    classes = {"org/junit/jupiter/engine/JupiterTestEngine.class": b"\xca\xfe"}
    (version_dir / "junit-jupiter-engine-5.10.2.jar").write_bytes(_jar([], classes))
    (version_dir / "junit-jupiter-engine-5.10.2.pom").write_text(
        "<project><modelVersion>4.0.0</modelVersion><groupId>org.junit.jupiter</groupId>"
        "<artifactId>junit-jupiter-engine</artifactId><version>5.10.2</version></project>"
    )
    options = ScanOptions(scanners=frozenset({Scanner.PKG}), cache_dir=None)
    (package,) = scan_fs(tmp_path, options).packages
    assert (package.name, package.group_source) == (
        "org.junit.jupiter:junit-jupiter-engine",
        "repository-pom",
    )
