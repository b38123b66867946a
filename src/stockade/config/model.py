"""The configuration file's typed model: the output keys (Falco's names) and one section
per command (`watch`, `agent`, `server`), with the defaults the commands had as flags."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from stockade.outputs.settings import OutputSettings

DEFAULT_WINDOW_S = 30.0  # identical alerts within it go out as one (the agent's default)
DEFAULT_SERVER = "https://127.0.0.1:8701"

Port = Annotated[int, msgspec.Meta(ge=1, le=65535)]
NonNegative = Annotated[float, msgspec.Meta(ge=0)]


class _Section(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A section of the file: unknown keys are refused."""


class WatchSection(_Section):
    """`stockade watch`."""

    rules: list[str] = msgspec.field(default_factory=list)  # empty: Stockade's rules
    alert_window: NonNegative = DEFAULT_WINDOW_S


class AgentSection(_Section):
    """`stockade agent` (and the local agent of `stockade up`)."""

    state_dir: str = ""  # empty: agent/ in the data directory
    server: str = DEFAULT_SERVER
    sources: list[str] = msgspec.field(default_factory=list)  # empty: the fallback chain
    detectors: list[str] = msgspec.field(default_factory=list)  # empty: rules, correlation
    rules: list[str] = msgspec.field(default_factory=list)
    scan_images: bool = True
    vulndb: str = ""
    inventory: bool = True  # collect the host inventory and send its differences
    shell_history: bool = True  # the inventory includes shell_history rows
    alert_window: NonNegative = DEFAULT_WINDOW_S
    ca: str = ""
    ca_fingerprint: str = ""
    enroll_token_file: str = ""
    policies: list[str] = msgspec.field(default_factory=list)  # response policy files (YAML)
    fim: bool = False  # file integrity monitoring (live fanotify + hash baseline)
    fim_policy: str = ""  # FIM policy file (YAML); empty: the default watched paths
    baseline: bool = False  # run the shipped baseline policies at start and every 24 h
    firewall: bool = False  # the learned container firewall (flows, alerts, protect tables)
    firewall_dns: list[str] = msgspec.field(default_factory=list)  # resolvers protect allows
    pin_dir: str = ""  # bpffs directory keeping the eBPF sensor between runs; empty: off
    ring_mib: int = 0  # size of a new eBPF ring buffer in MiB (a power of 2); 0: 32


class ProtectSection(_Section):
    """Protect mode on the agent: the OCI hook that guards a container before it runs."""

    hooks_dir: str = ""  # where to install the hook (podman: /usr/share/containers/oci/hooks.d)
    hook_fail_closed: bool = False  # no answer from the agent: the container does not start
    hook_deadline: Annotated[float, msgspec.Meta(gt=0, le=30)] = 2.0  # seconds the hook waits


class ServerSection(_Section):
    """`stockade server` (and the platform of `stockade up`)."""

    host: str = "127.0.0.1"
    port: Port = 8700
    agent_port: Port | None = None  # None: port + 1
    store: str = "sqlite"
    store_location: str = ""
    bus: str = "inprocess"
    bus_location: str = ""
    query_budget: Annotated[float, msgspec.Meta(ge=0.01)] = 2.0
    vulndb: str = ""  # vulnerability DB (`stockade db update`) for hosts' vulnerable packages
    events_days: NonNegative = 7
    # alerts kept by their time (0: no limit); an incident goes with its last alert when
    # closed, or untouched and this old; one a user worked on stays until closed
    alerts_days: NonNegative = 90
    store_max_gb: NonNegative = 5
    agent_cert_days: Annotated[int, msgspec.Meta(ge=1)] = 30
    incident_window_min: Annotated[float, msgspec.Meta(gt=0)] = 30  # alerts this close group
    # correlation files whose `scope: fleet` items the workers judge; empty: the shipped
    fleet_correlations: list[str] = msgspec.field(default_factory=list)
    profile_discover_min: NonNegative = 60  # a new workload group learns, then is monitored
    plain_http: bool = False
    tls_cert: str = ""
    tls_key: str = ""


class StockadeConfig(OutputSettings, kw_only=True, forbid_unknown_fields=True):
    """The whole file: output keys at the top (as in falco.yaml), then the sections."""

    data_dir: str = ""  # empty: /var/lib/stockade for root, else the user's data dir
    # fd.*.name: the names rules compare them with, resolved from the hosts file only
    # (nothing sent on the network), or by the system's resolver (DNS too), as Falco does
    dns_resolver: Literal["hosts", "system"] = "hosts"
    watch: WatchSection = msgspec.field(default_factory=WatchSection)
    agent: AgentSection = msgspec.field(default_factory=AgentSection)
    protect: ProtectSection = msgspec.field(default_factory=ProtectSection)
    server: ServerSection = msgspec.field(default_factory=ServerSection)
