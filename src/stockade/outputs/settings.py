"""The typed settings of every alert output: the output keys of the configuration file.

Names follow Falco's falco.yaml where Falco has the output (`stdout_output`,
`file_output`, `program_output`, `http_output`, `json_output`, ...); the SIEM outputs
Falco lacks (syslog with CEF, Splunk HEC, signed webhook) follow the same shape.
"""

from __future__ import annotations

import msgspec


class _Section(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A section of the configuration file: unknown keys are refused."""


class StdoutOutput(_Section):
    """Alerts on standard output; None: the command's own default (on for `watch`)."""

    enabled: bool | None = None


class FileOutput(_Section):
    """Alerts appended to a file, one per line."""

    enabled: bool = False
    filename: str = ""
    keep_alive: bool = True  # False: open and close the file for each alert, as Falco does


class ProgramOutput(_Section):
    """Alerts piped, one per line, to a shell command (restarted when it exits)."""

    enabled: bool = False
    program: str = ""
    keep_alive: bool = True  # False: one run of the program per alert


class HttpOutput(_Section):
    """Falco JSON POSTed, one alert per request, as falcosidekick receives it."""

    enabled: bool = False
    url: str = ""
    user_agent: str = "falcosecurity/falco"
    insecure: bool = False  # skip TLS verification
    ca_cert: str = ""  # PEM bundle to verify the receiver with
    timeout: float = 10.0


class SyslogOutput(_Section):
    """RFC 5424 syslog with a CEF payload, over UDP, TCP (octet counting) or TLS."""

    enabled: bool = False
    host: str = ""
    port: int = 514
    protocol: str = "tcp"  # udp | tcp | tls
    facility: int = 16  # local0
    app_name: str = "stockade"
    insecure: bool = False
    ca_cert: str = ""
    timeout: float = 10.0  # also: seconds of no TCP acknowledgement before reconnecting
    # after a failed TCP/TLS connection, resend this much of what the receiver's kernel had
    # acknowledged (a receiver process may die with it unread): duplicates, not losses
    resend_bytes: int = 4 << 20


class SplunkHecOutput(_Section):
    """Splunk HTTP Event Collector, event endpoint, with indexer acknowledgements."""

    enabled: bool = False
    url: str = ""  # https://splunk:8088 (the /services/collector/... paths are added)
    token: str = ""
    index: str = ""
    source: str = "stockade"
    sourcetype: str = "falco"
    ack: bool = True  # wait for indexer acknowledgement before a batch counts as delivered
    ack_timeout: float = 60.0
    insecure: bool = False
    ca_cert: str = ""
    timeout: float = 10.0


class WebhookOutput(_Section):
    """A JSON array of alerts POSTed per batch, signed with HMAC-SHA256."""

    enabled: bool = False
    url: str = ""
    secret: str = ""  # the HMAC key; empty: unsigned
    headers: dict[str, str] = msgspec.field(default_factory=dict)
    insecure: bool = False
    ca_cert: str = ""
    timeout: float = 10.0


class OutputsQueue(_Section):
    """The on-disk queue in front of every network output."""

    directory: str = ""  # empty: outputs/ in the command's data directory
    capacity: int = 1_000_000  # alerts per output; past it new alerts are refused (counted)
    batch: int = 500  # alerts per send
    retry_initial: float = 0.5  # seconds before the first retry, doubled up to retry_max
    retry_max: float = 30.0
    drain_timeout: float = 5.0  # seconds a closing output keeps sending what is queued


class OutputSettings(_Section):
    """Every output key of the configuration file."""

    priority: str = "debug"  # the least severe priority sent to the outputs
    json_output: bool = True  # False: Falco's text format on stdout, file and program
    json_include_output_property: bool = True
    json_include_tags_property: bool = True
    json_include_stockade_fields: bool = True  # host_id, container_id, seq, count, ...
    time_format_iso_8601: bool = False  # text format: ISO 8601 time instead of the clock
    stdout_output: StdoutOutput = msgspec.field(default_factory=StdoutOutput)
    file_output: FileOutput = msgspec.field(default_factory=FileOutput)
    program_output: ProgramOutput = msgspec.field(default_factory=ProgramOutput)
    http_output: HttpOutput = msgspec.field(default_factory=HttpOutput)
    syslog_output: SyslogOutput = msgspec.field(default_factory=SyslogOutput)
    splunk_hec_output: SplunkHecOutput = msgspec.field(default_factory=SplunkHecOutput)
    webhook_output: WebhookOutput = msgspec.field(default_factory=WebhookOutput)
    outputs_queue: OutputsQueue = msgspec.field(default_factory=OutputsQueue)
