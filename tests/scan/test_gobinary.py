"""Go binaries: build info found by seeking or streaming, whatever the size; the main module."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from stockade.model.inventory import Ecosystem, Package
from stockade.scan.analyzers import AnalyzerOptions
from stockade.scan.analyzers.gobinary import GoBinaryAnalyzer, parse_modinfo
from stockade.scan.files import FileInfo
from stockade.scan.options import Scanner, ScanOptions
from stockade.scan.scanner import scan_fs, scan_image
from tests.scan.imagebuild import LayerSpec, write_oci_layout
from tests.support.ci import require, require_file

PKG_ONLY = frozenset({Scanner.PKG})
HELLO = (
    'package main\n\nimport "fmt"\n\nvar version = "dev"\n\nfunc main() { fmt.Println(version) }\n'
)


@pytest.fixture(scope="module")
def hello_binary(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Go program built here (module example.com/hello, version stamped by -ldflags)."""
    go = shutil.which("go")
    require(go, "the Go toolchain (golang-go)")
    assert go is not None
    source = tmp_path_factory.mktemp("hello")
    (source / "go.mod").write_text("module example.com/hello\n\ngo 1.18\n")
    (source / "main.go").write_text(HELLO)
    env = {
        **os.environ,
        "GOFLAGS": "-mod=mod",
        "GOCACHE": str(source / "cache"),
        "CGO_ENABLED": "0",
    }
    subprocess.run(
        [go, "build", "-ldflags", "-X main.version=1.2.3", "-o", "hello", "."],
        cwd=source,
        env=env,
        check=True,
    )
    return source / "hello"


def _go_version(binary: Path) -> str:
    go = shutil.which("go")
    assert go is not None
    first = subprocess.run([go, "version", binary], capture_output=True, text=True, check=True)
    return "v" + first.stdout.split()[-1].removeprefix("go")


def _modules(packages: list[Package]) -> dict[str, str]:
    return {p.name: p.version for p in packages if p.ecosystem is Ecosystem.GO}


def test_main_module_with_the_version_stamped_by_ldflags(hello_binary: Path) -> None:
    content = hello_binary.read_bytes()
    info = FileInfo(path="usr/bin/hello", size=len(content), mode=0o755)
    analysis = GoBinaryAnalyzer(AnalyzerOptions()).analyze(info, content)
    assert analysis is not None
    assert _modules(analysis.packages) == {
        "example.com/hello": "1.2.3",
        "stdlib": _go_version(hello_binary),
    }


def test_a_binary_over_the_size_limit_is_streamed_from_a_layer(
    hello_binary: Path, tmp_path: Path
) -> None:
    content = hello_binary.read_bytes()
    layer = LayerSpec(files={"usr/bin/hello": content}, modes={"usr/bin/hello": 0o755})
    layout = write_oci_layout(tmp_path / "image", [layer])
    small = 64 * 1024  # far below the binary's size: it is never held whole
    options = ScanOptions(scanners=PKG_ONLY, cache_dir=None, max_file_size=small)
    result = scan_image(f"oci:{layout}", options)
    assert _modules(result.packages)["example.com/hello"] == "1.2.3"
    assert not [w for w in result.warnings if "gobinary" in w]


def test_a_binary_over_the_size_limit_is_read_by_seeking_on_disk(
    hello_binary: Path, tmp_path: Path
) -> None:
    shutil.copy2(hello_binary, tmp_path / "hello")
    options = ScanOptions(scanners=PKG_ONLY, cache_dir=None, max_file_size=64 * 1024)
    result = scan_fs(tmp_path, options)
    assert _modules(result.packages)["example.com/hello"] == "1.2.3"


def test_files_skipped_for_their_size_are_reported(tmp_path: Path) -> None:
    (tmp_path / "big.env").write_bytes(b"PASSWORD=x\n" * 20_000)
    options = ScanOptions(scanners=frozenset({Scanner.SECRET}), cache_dir=None, max_file_size=1024)
    result = scan_fs(tmp_path, options)
    assert any("secret analyzer" in w and "big.env" in w for w in result.warnings)


def test_debian_fzf_names_its_main_module() -> None:
    fzf = require_file(Path("/usr/bin/fzf"), "Debian's fzf (apt-get install fzf)")
    content = fzf.read_bytes()
    info = FileInfo(path="usr/bin/fzf", size=len(content), mode=0o755)
    analysis = GoBinaryAnalyzer(AnalyzerOptions()).analyze(info, content)
    assert analysis is not None
    # built outside module mode: the build info records only the main package's path
    assert "github.com/junegunn/fzf" in _modules(analysis.packages)


def test_a_real_binary_over_128_mib_is_listed() -> None:
    trivy = require_file(Path(sys.executable).parent / "trivy", "trivy (the bench extra)")
    require(trivy.stat().st_size > 128 * 1024 * 1024, "a Go binary over 128 MiB")
    result = scan_fs(trivy.parent, ScanOptions(scanners=PKG_ONLY, cache_dir=None))
    found = {p.name: p.version for p in result.packages if p.path == "trivy"}
    assert found["github.com/aquasecurity/trivy"].startswith("v")
    assert "stdlib" in found
    assert len(found) > 100  # the module list is complete, not cut at a window
    # the dependency graph: the main module requires every module compiled in, and the stdlib
    main = next(p for p in result.packages if p.name == "github.com/aquasecurity/trivy")
    by_id = {p.id: p.name for p in result.packages}
    assert sorted(by_id[d] for d in main.depends_on) == sorted(set(found) - {main.name})
    assert not [w for w in result.warnings if w.startswith("trivy")]


@pytest.mark.parametrize(
    ("modinfo", "main"),
    [
        ("path\tgithub.com/a/b/cmd/tool\n", ("github.com/a/b", "")),
        ("path\tcmd/go\n", None),
        ("path\tx.io/m\nmod\tx.io/m\tv1.4.0\t\n", ("x.io/m", "v1.4.0")),
        (
            "path\tx.io/m\nmod\tx.io/m\t(devel)\t\n"
            "build\t-ldflags=\"-X 'x.io/m/internal/version.Version=2.0.1' -s -w\"\n",
            ("x.io/m", "2.0.1"),
        ),
        (
            "path\tx.io/m\nmod\tx.io/m\t(devel)\t\n"
            'build\t-ldflags="-X main.version=1.0.0 -X main.Version=1.0.1"\n',
            ("x.io/m", ""),  # two candidates of the same rank: no guess
        ),
        (
            "path\tx.io/m\nmod\tx.io/m\tv0.0.0-20240101000000-abcdef123456\t\n"
            "build\t-ldflags=-X=main.version=3.1.0\n",
            ("x.io/m", "3.1.0"),  # a pseudo-version yields to a stamped release
        ),
        (
            "dep\tz.io/private\tv1.0.0\t\n=>\t./private_repos/z.io/private/\t\t\n",
            ("z.io/private", ""),  # replaced by a local directory: the module, no version
        ),
    ],
    ids=["gopath-cmd", "toolchain", "module", "ldflags", "ambiguous", "pseudo", "local-replace"],
)
def test_main_module_rules(modinfo: str, main: tuple[str, str] | None) -> None:
    packages = parse_modinfo("go1.22.1", modinfo, "app")
    first = packages[0]
    if main is None:
        assert [p.name for p in packages] == ["stdlib"]
    else:
        assert (first.name, first.version) == main
