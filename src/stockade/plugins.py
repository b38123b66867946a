"""Where every capability's built-in plug-ins live: the one place they are loaded from.

Each module named here registers its plug-ins in a `Registry` when imported. A registry
imports the modules of its capability the first time it is read or written (`get`, `in`,
iteration, `register`), so importing a registry is cheap and a command loads only the
plug-ins of the capabilities it uses. A new built-in is one more module name below;
nothing else imports a plug-in module to register it. Importing one for what it defines
is fine: its `register` first loads the capability's built-ins from here, so a registry
holds the same plug-ins, in the same order, whichever way it is reached.
"""

from __future__ import annotations

import importlib

# capability (the name its Registry was created with) -> modules that register built-ins
BUILTIN_MODULES: dict[str, tuple[str, ...]] = {
    "event source": (
        "stockade.sensor.bpf.source",
        "stockade.sensor.audit",
        "stockade.sensor.proc_connector",
        "stockade.sensor.fanotify",
    ),
    "container runtime": (
        "stockade.context.podman",
        "stockade.context.buildah",
        "stockade.context.docker",
        "stockade.context.containerd",
        "stockade.context.crio",
    ),
    "detector": (
        "stockade.detect.rules",
        "stockade.detect.correlation",
        "stockade.profiles.detector",
    ),
    "response action": (
        "stockade.respond.process",
        "stockade.respond.cgroups",
        "stockade.respond.network",
        "stockade.respond.hostnet",
        "stockade.respond.livequery",
        "stockade.respond.execblock",
        "stockade.respond.quarantine",
    ),
    "alert output": (
        "stockade.outputs.streams",
        "stockade.outputs.http",
        "stockade.outputs.syslog",
        "stockade.outputs.splunk",
        "stockade.outputs.webhook",
    ),
    "store": ("stockade.platform.store.sqlite", "stockade.platform.store.postgres"),
    "bus": ("stockade.platform.bus.inprocess", "stockade.platform.bus.jetstream"),
    "image source": ("stockade.scan.sources",),
    "analyzer": (
        "stockade.scan.analyzers.os_release",
        "stockade.scan.analyzers.dpkg",
        "stockade.scan.analyzers.dpkg_copyright",
        "stockade.scan.analyzers.package_files",
        "stockade.scan.analyzers.apk",
        "stockade.scan.analyzers.rpm",
        "stockade.scan.analyzers.python_pkg",
        "stockade.scan.analyzers.npm",
        "stockade.scan.analyzers.npm_lock",
        "stockade.scan.analyzers.gobinary",
        "stockade.scan.analyzers.jar",
        "stockade.scan.analyzers.gemspec",
        "stockade.scan.analyzers.executables",
        "stockade.scan.secrets.analyzer",
        "stockade.scan.misconfig.analyzer",
        "stockade.scan.malware.analyzer",
    ),
    "image config analyzer": (
        "stockade.scan.secrets.config_analyzer",
        "stockade.scan.misconfig.image_analyzer",
    ),
    "dockerfile test": ("stockade.scan.misconfig.predicates",),
    "image test": ("stockade.scan.misconfig.predicates",),
    "version scheme": (
        "stockade.scan.versions.apk",
        "stockade.scan.versions.debian",
        "stockade.scan.versions.golang",
        "stockade.scan.versions.maven",
        "stockade.scan.versions.pep440",
        "stockade.scan.versions.rpm",
        "stockade.scan.versions.rubygems",
        "stockade.scan.versions.semver",
    ),
    "advisory format": (
        "stockade.scan.vulndb.osv",
        "stockade.scan.vulndb.debian_tracker",
        "stockade.scan.vulndb.alpine_secdb",
        "stockade.scan.vulndb.nodejs_wg",
    ),
    "inventory table": (
        "stockade.host.system",
        "stockade.host.packages",
        "stockade.host.accounts",
        "stockade.host.sessions",
        "stockade.host.processes",
        "stockade.host.files",
        "stockade.host.network",
    ),
    "matcher": (
        "stockade.scan.matchers.distro",
        "stockade.scan.matchers.language",
        "stockade.scan.matchers.rpm_family",
    ),
    "output format": (
        "stockade.scan.output.cyclonedx_bom",
        "stockade.scan.output.json_report",
        "stockade.scan.output.sarif",
        "stockade.scan.output.spdx_doc",
        "stockade.scan.output.trivy_json",
    ),
}

# module -> why it could not be imported (a missing optional library), for error messages
FAILED: dict[str, str] = {}


def load_builtins(capability: str) -> None:
    """Import the modules that register `capability`'s built-ins (each registers itself).

    A module that cannot be imported is left out and noted in FAILED: its plug-ins are
    then unknown, and the registry's error says why, instead of every sibling failing too.
    """
    for module in BUILTIN_MODULES.get(capability, ()):
        try:
            importlib.import_module(module)
        except ImportError as e:
            FAILED[module] = str(e)


def failures(capability: str) -> list[str]:
    """`module: reason` for each of `capability`'s built-in modules that failed to import."""
    return [f"{m}: {FAILED[m]}" for m in BUILTIN_MODULES.get(capability, ()) if m in FAILED]
