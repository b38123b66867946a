"""The field table: every Falco field Stockade can extract, and where its value comes from.

How `stockade.model.Event` maps to fields (None = "not available": every check on such a
field is false, and outputs print `<NA>`):

    evt.type, syscall.type  <- Event.type          evt.rawtime <- Event.ts (ns)
    evt.num <- Event.seq (at least 1: never 0, as in Falco)   evt.dir <- Event.dir ("<")
    evt.rawres              <- Event.res           evt.res     <- "SUCCESS" or errno name
    evt.arg.K, evt.arg[K]   <- Event.args["K"] rendered: str as is, bool true/false,
                               list joined by spaces, int as decimal, except flag and enum
                               arguments (model.flagnames) -> "O_WRONLY|O_CREAT",
                               "PTRACE_ATTACH", "AF_PACKET", "S_ISUID|...", "SIGKILL"
                               a relative path argument resolved (evt_paths: the
                               call's dirfd, else the cwd; an open's fd path)
    evt.rawarg.K            <- Event.args["K"] as the call gave it: a number, or for a
                               text argument (paths, data) the text, unresolved
    evt.buffer              <- Event.args["data"] (I/O data up to the sensor's snaplen)
    evt.arg[N]              <- the N-th entry of Event.args (insertion order)
    evt.arg.flags / evt.arg.name of open events without those args <- FdInfo.flags
                               (rendered as above) / FdInfo.name
    evt.is_open_read/write  <- open flags (args["flags"] int or "O_..|.." text, else
                               FdInfo.flags) of open/openat/openat2 events
    evt.is_open_create/exec <- O_CREAT in those flags (exec: args["mode"] & 0o111)
    proc.name <- Process.name    proc.exe <- Process.argv[0]   proc.exepath <- Process.exepath
    proc.args <- " ".join(argv[1:])   proc.cmdline <- name + " " + args
    proc.env  <- " ".join(Process.env) (read from /proc/PID/environ at exec);
                 proc.env[HOME] <- value of "HOME=..." in Process.env
    proc.aenv[N] / proc.aenv[NAME] <- Ancestor.env of ancestor N / first NAME up the lineage
    proc.pname/pexe/pexepath/pcmdline <- Event.ancestors[0] (the parent)
    proc.aname[N], aexe[N], aexepath[N], acmdline[N], apid[N] <- Event.ancestors[N-1]
                               ([0] is the process itself; without [N]: any ancestor)
    proc.ppid <- Process.ppid, else ancestors[0].pid      proc.tty <- Process.tty
    proc.sname / proc.vpgid.name <- the ancestor whose pid is Process.sid / Process.vpgid
    proc.duration <- Event.ts - Process.start_ns   proc.exe_ino.* <- Process.exe_ino*
    thread.cap_effective/permitted <- Process.cap_* masks as "CAP_CHOWN CAP_KILL ..."
    proc.pgid*, fdlimit, fdopencount, vm*, nthreads, stdin/stdout/stderr.*, thread.cgroup*,
    thread.pf*, thread.cpu* <- Process.snapshot (ProcSnapshot, read from /proc at exec;
                               None without)   thread.exectime/totexectime <- 0 (Falco's
                               value outside scheduler switch events)
    evt.cpu <- Event.cpu (the CPU in the eBPF record's header; None from other sensors)
    user.uid <- Process.euid (uid when unset), as Falco's uid after exec and set*uid calls
    user.name <- Process.user: the name of that uid in the process's own (container's)
                 /etc/passwd, looked up by the context stage ("root" for 0);
                 user.homedir / user.shell <- Process.homedir / shell, the same entry's
    user.loginuid <- Process.loginuid (-1 unset)   user.loginname <- Process.loginname
    group.gid <- Process.egid    group.name <- Process.group ("root" for 0)
    fd.num/type/name/l4proto/is_server <- Event.fd.* (FdInfo); fd.typechar from fd.type
    fd.directory / fd.filename <- dirname / basename of FdInfo.name for files
    fd.nameraw <- FdInfo.nameraw (the path as the call gave it), else FdInfo.name
    fd.dev/ino <- FdInfo.dev/ino where the sensor sets them   fdlist.* <- args["fds"]
    fd.name_changed <- a connect (0 or EINPROGRESS), else FdInfo.name_changed (datagram
                       I/O whose peer the call named on an unconnected socket)
    fd.cip/cport <- FdInfo.sip/sport (client), fd.sip/sport <- FdInfo.dip/dport (server),
    fd.lip/lport/rip/rport pick by FdInfo.is_server; fd.net/snet/cnet... take CIDRs
    container.id <- the 12-char id ("host" outside containers); container.full_id <- the
    64-hex Container.id; container.name/image/image.repository/image.tag/image.digest/
    privileged/start_ts <- Container.*; container.type <- Container.runtime;
    container.label[K] / container.label.K <- Container.labels[K]
    container.ip / k8s.pod.ip <- Container.ip; container.host_pid/host_ipc <- Container.*
    container.cni.json / k8s.pod.cni.json <- Container.cni_json (libcni's cached result,
                               by interface: context.cni)
    k8s.pod.name / k8s.ns.name / k8s.pod.uid / k8s.pod.label[K] / k8s.pod.sandbox_id
                               <- Container.pod_*
    fs.path.name <- args path/name/pathname; fs.path.source <- args oldpath/target;
    fs.path.target <- args newpath/linkpath
"""

from __future__ import annotations

from stockade.rules.fields import (
    container,
    evt,
    evt_io,
    evt_time,
    fd,
    fdlist,
    proc,
    proc_lineage,
    proc_state,
    user,
)
from stockade.rules.fields.base import ArgKind, Extractor, FieldDef, FieldTable, FieldType


def build_table() -> FieldTable:
    """A table holding every field of every field class."""
    table = FieldTable()
    for module in (evt, evt_io, evt_time, proc, proc_lineage, proc_state, user, fd, fdlist,
                   container):  # fmt: skip
        module.register(table)
    return table


FIELDS = build_table()
"""The default field table."""

__all__ = ["FIELDS", "ArgKind", "Extractor", "FieldDef", "FieldTable", "FieldType", "build_table"]
