"""FIM's pure parts: policy matching, baseline comparison, diffs and alerts."""

from __future__ import annotations

from pathlib import Path

import pytest

from stockade.host.fim_alerts import Writer, fim_alert
from stockade.host.fim_compare import ChangeKind, compare
from stockade.host.fim_content import ContentCache, unified_diff
from stockade.host.fim_pace import AlertPacer
from stockade.host.fim_policy import FimError, FimPolicy, load_policy
from stockade.host.fim_scan import FileState, scan


def _state(sha: str = "a", mode: int = 0o100644, mtime: int = 1) -> FileState:
    return FileState(sha256=sha, uid=0, gid=0, mode=mode, size=1, mtime_ns=mtime)


@pytest.mark.parametrize(
    ("path", "watched"),
    [
        ("/etc/passwd", True),
        ("/etc/ld.so.cache", False),
        ("/etc/shadow-", False),
        ("/etc/ssh/.sshd_config.swp", False),
        ("/usr/bin/ls", True),
        ("/var/log/syslog", False),
        ("/etcetera/x", False),
    ],
    ids=lambda v: str(v),
)
def test_default_policy_watches_and_ignores(path: str, watched: bool) -> None:
    assert FimPolicy().watched(path) is watched


def test_compare_reports_added_removed_and_modified_but_not_mtime_only() -> None:
    before = {"/etc/a": _state(), "/etc/b": _state(), "/etc/c": _state(), "/etc/d": _state()}
    after = {
        "/etc/a": _state(sha="b"),
        "/etc/c": _state(mode=0o100666),
        "/etc/d": _state(mtime=2),
        "/etc/e": _state(),
    }
    changes = {c.path: c for c in compare(before, after)}
    assert set(changes) == {"/etc/a", "/etc/b", "/etc/c", "/etc/e"}
    assert changes["/etc/a"].changed == ("sha256",)
    assert changes["/etc/b"].kind is ChangeKind.REMOVED
    assert changes["/etc/c"].changed == ("mode",)
    assert changes["/etc/e"].kind is ChangeKind.ADDED


def test_scan_reads_states_under_a_root_and_skips_ignored(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "hosts").write_text("127.0.0.1 localhost\n")
    (tmp_path / "etc" / "ld.so.cache").write_bytes(b"\0cache")
    (tmp_path / "etc" / "link").symlink_to("hosts")
    found = scan(str(tmp_path), FimPolicy(paths=("/etc",)))
    assert set(found) == {"/etc/hosts", "/etc/link"}
    assert found["/etc/hosts"].size == 20


def test_content_cache_keeps_small_text_within_budget() -> None:
    cache = ContentCache(max_file_bytes=10, budget_bytes=12)
    cache.put("a", b"12345678")
    cache.put("bin", b"\0\1")
    cache.put("big", b"x" * 11)
    cache.put("b", b"abcdefgh")  # over the budget: "a" goes
    assert (cache.get("a"), cache.get("bin"), cache.get("big"), cache.get("b")) == (
        None,
        None,
        None,
        "abcdefgh",
    )


def test_alert_carries_before_after_diff_and_writer() -> None:
    (change,) = compare({"/etc/x": _state()}, {"/etc/x": _state(sha="b")})
    diff = unified_diff("/etc/x", "PermitRootLogin no\n", "PermitRootLogin yes\n")
    writer = Writer(pid=7, exe="/usr/bin/vi", cmdline="vi /etc/x", container_id="c" * 64)
    alert = fim_alert(change, writer, diff, "host-1")
    fields = alert.output_fields
    assert alert.rule == "File integrity: watched file changed"
    assert alert.priority == "Warning" and alert.container_id == "c" * 64
    assert fields["proc.exepath"] == "/usr/bin/vi" and fields["container.id"] == "c" * 12
    assert fields["fim.before"] != fields["fim.after"]
    assert "+PermitRootLogin yes" in str(fields["fim.diff"])


def test_package_manager_writes_are_informational() -> None:
    (change,) = compare({}, {"/usr/bin/x": _state()})
    alert = fim_alert(change, Writer(pid=1, exe="/usr/bin/dpkg"), "", "h")
    assert alert.priority == "Informational" and "package_manager" in alert.tags


def test_bad_policy_file_is_one_line_error(tmp_path: Path) -> None:
    bad = tmp_path / "fim.yaml"
    bad.write_text("paths: [/etc\nignore: x\n")
    with pytest.raises(FimError) as err:
        load_policy(bad)
    assert str(err.value).startswith(f"{bad}:") and "\n" not in str(err.value)
    bad.write_text("pathz: [/etc]\n")
    with pytest.raises(FimError, match="unknown keys"):
        load_policy(bad)


def test_a_hot_file_waits_longer_between_alerts_and_cools_down() -> None:
    pacer = AlertPacer(first_s=0.5, max_s=4.0)
    assert pacer.due("f", 0.0)
    pacer.alerted("f", 0.0)
    assert not pacer.due("f", 0.4) and pacer.due("f", 0.5)
    pacer.alerted("f", 0.5)  # changed again at once: hot, waits 1 s
    assert not pacer.due("f", 1.4) and pacer.due("f", 1.5)
    at, waits = 1.5, []
    for _ in range(5):  # alerts each time it is due: the wait doubles up to max_s
        pacer.alerted("f", at)
        due = at
        while not pacer.due("f", due):
            due += 0.25
        waits.append(due - at)
        at = due
    assert waits == [2.0, 4.0, 4.0, 4.0, 4.0]
    pacer.alerted("f", at)
    assert pacer.due("g", at)  # another file is not held up
    quiet = at + 2 * 4.0 + 0.1  # rested twice its wait: cold again, 0.5 s after its next alert
    pacer.alerted("f", quiet)
    assert pacer.due("f", quiet + 0.5)
    pacer.forget_cold(quiet + 100)
    assert pacer.due("f", quiet + 100)
