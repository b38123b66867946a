"""Event sources: eBPF, netlink process connector, fanotify, audit, procfs."""
