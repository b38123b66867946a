"""The typer commands of `stockade scan`: image, fs and sbom, with the options of SCAN_OPTIONS."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Annotated, Any, Protocol

import typer

from stockade.cli.scan_options import SCAN_OPTIONS, BadValue, ScanOption
from stockade.cli.scan_run import run_scan


class Runner(Protocol):
    """What a command calls once typer has read its line (`scan_run.run_scan`)."""

    def __call__(self, command: str, subject: Any, values: dict[str, Any]) -> int:
        """The exit status of scan `command` on `subject` with the options' `values`."""
        ...


_TYPES: dict[str, Any] = {  # ScanOption.kind -> the annotation typer reads
    "str": str,
    "int": int,
    "flag": bool,
    "path": Path,
    "path?": Path | None,
    "strs": list[str] | None,
    "paths": list[Path] | None,
}


def _parameter(option: ScanOption) -> inspect.Parameter:
    """The command-function parameter typer turns into `option`."""
    declared = typer.Option(*option.flags, help=option.help, show_default=option.show_default)
    return inspect.Parameter(
        option.name,
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
        default=option.default,
        annotation=Annotated[_TYPES[option.kind], declared],
    )


def _scan_command(
    app: typer.Typer, runner: Runner, name: str, target: inspect.Parameter, doc: str
) -> None:
    """Add command `name` to `app`: its `target` argument, then every option of SCAN_OPTIONS.

    Typer reads a command's parameters from its signature, so the shared options are
    written once (as data) and every scan command offers exactly the same ones."""

    def command(**values: Any) -> None:
        subject = values.pop(target.name)
        try:
            status = runner(name, subject, values)
        except BadValue as e:
            raise typer.BadParameter(str(e)) from e
        if status:
            raise typer.Exit(status)

    shared = [_parameter(option) for option in SCAN_OPTIONS]
    command.__signature__ = inspect.Signature([target, *shared])  # type: ignore[attr-defined]
    command.__doc__ = doc
    app.command(name)(command)


def _argument(name: str, annotation: type, help_text: str) -> inspect.Parameter:
    return inspect.Parameter(
        name,
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
        annotation=Annotated[annotation, typer.Argument(help=help_text)],
    )


def build_scan_app(runner: Runner = run_scan) -> typer.Typer:
    """The `stockade scan` sub-app, its commands calling `runner`."""
    app = typer.Typer(help="Scan container images and filesystems.", no_args_is_help=True)
    image_ref = _argument(
        "ref",
        str,
        "oci-archive:P, oci-dir:DIR (or oci:DIR), docker-archive:P, podman:NAME, "
        "dir:P, container:ID, a path, or an image name in podman, Docker or containerd",
    )
    image_doc = "Scan an image: packages, vulnerabilities, secrets, misconfigurations, malware."
    _scan_command(app, runner, "image", image_ref, image_doc)
    fs_path = _argument("path", Path, "Directory to scan")
    _scan_command(app, runner, "fs", fs_path, "Scan a directory tree (lock files included).")
    sbom = _argument("sbom", Path, "CycloneDX or SPDX JSON document")
    sbom_doc = "Match vulnerabilities for the packages of an existing SBOM (ours, Syft's, Trivy's)."
    _scan_command(app, runner, "sbom", sbom, sbom_doc)
    return app


scan_app = build_scan_app()
