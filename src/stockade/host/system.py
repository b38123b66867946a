"""OS, hardware and kernel tables: os_version, system_info, uptime, memory_info, cpu_info,
kernel_modules."""

from __future__ import annotations

import os
import platform
import socket

from stockade.host.table import InventoryTable, Row, Scope, table


def os_release(text: str) -> dict[str, str]:
    """The KEY=value pairs of an os-release file, quotes removed."""
    pairs: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() and not key.startswith("#"):
            pairs[key.strip()] = value.strip().strip("\"'")
    return pairs


class OsVersionRow(Row, frozen=True, kw_only=True):
    """osquery os_version."""

    name: str
    version: str
    major: int
    minor: int
    patch: int
    build: str
    platform: str
    platform_like: str
    codename: str
    arch: str


@table
class OsVersion(InventoryTable):
    """The distribution from /etc/os-release (or /usr/lib/os-release)."""

    name = "os_version"
    row = OsVersionRow

    def collect(self, scope: Scope) -> list[Row]:
        """One row; none when the scope has no os-release."""
        text = scope.read("/etc/os-release") or scope.read("/usr/lib/os-release")
        if not text:
            return []
        fields = os_release(text)
        version_id = fields.get("VERSION_ID", "")
        numbers = [int(p) if p.isdigit() else 0 for p in version_id.split(".")] + [0, 0, 0]
        return [
            OsVersionRow(
                name=fields.get("NAME", ""),
                version=fields.get("VERSION", version_id),
                major=numbers[0],
                minor=numbers[1],
                patch=numbers[2],
                build=fields.get("BUILD_ID", ""),
                platform=fields.get("ID", ""),
                platform_like=fields.get("ID_LIKE", ""),
                codename=fields.get("VERSION_CODENAME", ""),
                arch=platform.machine(),
                container=scope.container,
                image=scope.image,
            )
        ]


def _meminfo(scope: Scope) -> dict[str, int]:
    values: dict[str, int] = {}
    for line in scope.read("/proc/meminfo").splitlines():
        key, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[0].isdigit():
            values[key] = int(parts[0]) * (1024 if rest.strip().endswith("kB") else 1)
    return values


def _cpus(scope: Scope) -> list[dict[str, str]]:
    blocks: list[dict[str, str]] = []
    for block in scope.read("/proc/cpuinfo").split("\n\n"):
        fields = {
            k.strip(): v.strip() for k, _, v in (ln.partition(":") for ln in block.splitlines())
        }
        if "processor" in fields:
            blocks.append(fields)
    return blocks


def _dmi(scope: Scope, name: str) -> str:
    return scope.read(f"/sys/class/dmi/id/{name}").strip()


class SystemInfoRow(Row, frozen=True, kw_only=True):
    """osquery system_info."""

    hostname: str
    uuid: str
    cpu_type: str
    cpu_brand: str
    cpu_physical_cores: int
    cpu_logical_cores: int
    physical_memory: int
    hardware_vendor: str
    hardware_model: str
    hardware_serial: str
    computer_name: str


@table
class SystemInfo(InventoryTable):
    """Host name, CPU and memory totals, DMI vendor and model."""

    name = "system_info"
    row = SystemInfoRow
    host_only = True

    def collect(self, scope: Scope) -> list[Row]:
        """One row."""
        cpus = _cpus(scope)
        cores = {(c.get("physical id", "0"), c.get("core id", c["processor"])) for c in cpus}
        hostname = socket.gethostname()
        return [
            SystemInfoRow(
                hostname=hostname,
                uuid=_dmi(scope, "product_uuid") or scope.read("/etc/machine-id").strip(),
                cpu_type=platform.machine(),
                cpu_brand=cpus[0].get("model name", "") if cpus else "",
                cpu_physical_cores=len(cores),
                cpu_logical_cores=len(cpus) or (os.cpu_count() or 0),
                physical_memory=_meminfo(scope).get("MemTotal", 0),
                hardware_vendor=_dmi(scope, "sys_vendor"),
                hardware_model=_dmi(scope, "product_name"),
                hardware_serial="",  # product_serial is root-only and an identifier: left out
                computer_name=hostname,
            )
        ]


class CpuInfoRow(Row, frozen=True, kw_only=True):
    """osquery cpu_info (one row per physical package)."""

    device_id: str
    model: str
    manufacturer: str
    number_of_cores: int
    logical_processors: int
    max_clock_speed: int


@table
class CpuInfo(InventoryTable):
    """CPU packages from /proc/cpuinfo."""

    name = "cpu_info"
    row = CpuInfoRow
    host_only = True

    def collect(self, scope: Scope) -> list[Row]:
        """One row per physical id."""
        by_package: dict[str, list[dict[str, str]]] = {}
        for cpu in _cpus(scope):
            by_package.setdefault(cpu.get("physical id", "0"), []).append(cpu)
        rows: list[Row] = []
        for package, cpus in sorted(by_package.items()):
            first = cpus[0]
            mhz = scope.read("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq").strip()
            rows.append(
                CpuInfoRow(
                    device_id=package,
                    model=first.get("model name", ""),
                    manufacturer=first.get("vendor_id", ""),
                    number_of_cores=int(first.get("cpu cores", len(cpus)) or len(cpus)),
                    logical_processors=len(cpus),
                    max_clock_speed=int(mhz) // 1000 if mhz.isdigit() else 0,
                )
            )
        return rows


class MemoryInfoRow(Row, frozen=True, kw_only=True):
    """osquery memory_info."""

    memory_total: int
    memory_free: int
    memory_available: int
    buffers: int
    cached: int
    swap_cached: int
    active: int
    inactive: int
    swap_total: int
    swap_free: int


@table
class MemoryInfo(InventoryTable):
    """Memory counters from /proc/meminfo (bytes)."""

    name = "memory_info"
    row = MemoryInfoRow
    host_only = True
    changes_often = True

    def collect(self, scope: Scope) -> list[Row]:
        """One row."""
        m = _meminfo(scope)
        return [
            MemoryInfoRow(
                memory_total=m.get("MemTotal", 0),
                memory_free=m.get("MemFree", 0),
                memory_available=m.get("MemAvailable", 0),
                buffers=m.get("Buffers", 0),
                cached=m.get("Cached", 0),
                swap_cached=m.get("SwapCached", 0),
                active=m.get("Active", 0),
                inactive=m.get("Inactive", 0),
                swap_total=m.get("SwapTotal", 0),
                swap_free=m.get("SwapFree", 0),
            )
        ]


class UptimeRow(Row, frozen=True, kw_only=True):
    """osquery uptime."""

    days: int
    hours: int
    minutes: int
    seconds: int
    total_seconds: int


@table
class Uptime(InventoryTable):
    """Time since boot from /proc/uptime."""

    name = "uptime"
    row = UptimeRow
    host_only = True
    changes_often = True

    def collect(self, scope: Scope) -> list[Row]:
        """One row."""
        text = scope.read("/proc/uptime").split()
        total = int(float(text[0])) if text else 0
        return [
            UptimeRow(
                days=total // 86400,
                hours=total % 86400 // 3600,
                minutes=total % 3600 // 60,
                seconds=total % 60,
                total_seconds=total,
            )
        ]


class KernelModuleRow(Row, frozen=True, kw_only=True):
    """osquery kernel_modules."""

    name: str
    size: int
    used_by: str
    status: str
    address: str


@table
class KernelModules(InventoryTable):
    """Loaded modules from /proc/modules (none on a kernel built without modules)."""

    name = "kernel_modules"
    row = KernelModuleRow
    host_only = True

    def collect(self, scope: Scope) -> list[Row]:
        """One row per module line."""
        rows: list[Row] = []
        for line in scope.read("/proc/modules").splitlines():
            f = line.split()
            if len(f) >= 6:
                rows.append(
                    KernelModuleRow(
                        name=f[0], size=int(f[1]), used_by=f[3], status=f[4], address=f[5]
                    )
                )
        return rows
