"""The attack scenarios' catalogue: each attack, its benign twin and what must fire.

`test_scenarios.py` runs each in a real podman container under the real eBPF sensor;
docs/detections.md lists the same scenarios with their ATT&CK techniques.
"""

from __future__ import annotations

from dataclasses import dataclass

SLEEP = ("sleep", "600")
# A listener on the container's loopback that sends one command and `exit` to whatever
# shell connects, so the reverse shells below end by themselves.
LISTENER = "printf 'id\\nexit\\n' | nc -l 127.0.0.1 4444 >/dev/null &"
# Retries the connection until the listener is up (a failed connect ends the attempt).
RETRY = "for i in $(seq 100); do {} && break; sleep 0.1; done; wait"
HTTP = (
    "mkdir -p /srv && echo id > /srv/x.sh && "
    "(cd /srv && exec python3 -m http.server 8000 --bind 127.0.0.1 >/dev/null 2>&1) & "
    "curl -s --retry 50 --retry-connrefused --retry-delay 0 -o /dev/null http://127.0.0.1:8000/; "
)
# A one-connection TCP server on every address, port 8080, and a client sending it one
# message through the container's private address.
STRATUM_SERVER = (
    'python3 -c \'import socket; s=socket.create_server(("", 8080)); s.settimeout(20); '
    "s.accept()[0].recv(512)' & "
)
STRATUM_CLIENT = (
    "python3 -c 'import socket,sys; s=socket.create_connection((sys.argv[1], 8080)); "
    "s.sendall(sys.argv[2].encode())' $(hostname -i) '{}'"
)
STRATUM_LOGIN = '{{"id":1,"method":"mining.subscribe","params":["cpuminer/2.5.1"]}}'
HTTP_GET = "GET / HTTP/1.1"
# A one-request HTTP server on a unix socket, and curl asking it for the version as a
# docker client would. The server reads the whole request before answering: closing with
# unread bytes resets the connection, curl then fails and RETRY waits out all its rounds.
UNIX_SERVER = (
    'python3 -c "import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); '
    "s.listen(1); s.settimeout(20); c,_=s.accept(); c.recv(4096); "
    "c.sendall(b'HTTP/1.0 200 OK\\r\\n\\r\\n{{}}')\" {} & "
)
UNIX_CLIENT = "curl -s --unix-socket {} http://localhost/version"
# Sends a line to whoever listens on the loopback port, without netcat.
PY_CLIENT = (
    'python3 -c \'import socket; s=socket.create_connection(("127.0.0.1", 4444)); '
    's.sendall(b"hi")\''
)


def falco(*rules: str) -> frozenset[str]:
    """Falco rules (stable and incubating) that the attack meets."""
    return frozenset(rules)


def bash(script: str) -> tuple[str, ...]:
    """A command that runs `script` in bash."""
    return ("bash", "-c", script)


@dataclass(frozen=True)
class Scenario:
    """One attack, its benign twin and what must fire."""

    rule: str  # the default rule that must fire
    priority: str
    attack: tuple[str, ...]
    benign: tuple[str, ...]
    falco: frozenset[str] = frozenset()  # Falco rules the attack meets
    image: str = "tools"  # tools | busybox
    run: tuple[str, ...] = ()  # extra `podman run` flags
    entrypoint: tuple[str, ...] = SLEEP
    tty: bool = False  # attack with `podman exec -t`


SCENARIOS: dict[str, Scenario] = {
    "01-terminal-shell": Scenario(
        "Terminal shell in container",
        "Notice",
        falco=falco("Terminal shell in container"),
        attack=bash("id"),
        benign=bash("id"),
        tty=True,
    ),
    "02a-reverse-shell-bash-dev-tcp": Scenario(
        "Reverse shell or netcat execution",
        "Critical",
        falco=falco(
            "Launch Suspicious Network Tool in Container",
            "Redirect STDOUT/STDIN to Network Connection in Container",
        ),
        attack=bash(LISTENER + RETRY.format("bash -c 'bash -i >& /dev/tcp/127.0.0.1/4444 0>&1'")),
        benign=bash("echo hello > /tmp/greeting"),
    ),
    "02b-reverse-shell-python-dup2": Scenario(
        "Reverse shell or netcat execution",
        "Critical",
        falco=falco(
            "Launch Suspicious Network Tool in Container",
            "Redirect STDOUT/STDIN to Network Connection in Container",
        ),
        attack=bash(
            LISTENER
            + RETRY.format(
                "python3 -c 'import socket,os,pty; s=socket.socket(); "
                's.connect(("127.0.0.1",4444)); [os.dup2(s.fileno(),f) for f in (0,1,2)]; '
                'pty.spawn("/bin/sh")\''
            )
        ),
        benign=("python3", "-c", "import os; os.dup2(1, 2); print('hello')"),
    ),
    "02c-reverse-shell-socat": Scenario(
        "Reverse shell or netcat execution",
        "Critical",
        falco=falco("Launch Suspicious Network Tool in Container"),
        attack=bash(
            LISTENER + RETRY.format("socat exec:'bash -li',pty,stderr,setsid tcp:127.0.0.1:4444")
        ),
        benign=bash("id"),
    ),
    "02d-reverse-shell-mkfifo-nc": Scenario(
        "Reverse shell or netcat execution",
        "Critical",
        falco=falco("Launch Suspicious Network Tool in Container"),
        attack=bash(
            LISTENER
            + RETRY.format(
                "(rm -f /tmp/f; mkfifo /tmp/f; "
                "cat /tmp/f | /bin/sh -i 2>&1 | nc -N 127.0.0.1 4444 >/tmp/f)"
            )
        ),
        benign=bash("rm -f /tmp/f; mkfifo /tmp/f; (echo hi > /tmp/f &); cat /tmp/f"),
    ),
    "02e-reverse-shell-python-script": Scenario(
        "Standard streams redirected to a network connection in container",
        "Critical",
        falco=falco("Redirect STDOUT/STDIN to Network Connection in Container"),
        # The payload in a file: no telltale command line, only the dup2 calls give it away.
        attack=bash(
            "printf '%s\\n' 'import socket,os,pty' 's=socket.socket()' "
            "'s.connect((\"127.0.0.1\",4444))' '[os.dup2(s.fileno(),f) for f in (0,1,2)]' "
            "'pty.spawn(\"/bin/sh\")' > /tmp/update.py && "
            + LISTENER
            + RETRY.format("python3 /tmp/update.py")
        ),
        benign=bash(
            'python3 -c \'import socket; s=socket.create_server(("127.0.0.1", 4444)); '
            "s.settimeout(20); s.accept()[0].recv(8)' & " + RETRY.format(PY_CLIENT)
        ),
    ),
    "03-nc-e": Scenario(
        "Reverse shell or netcat execution",
        "Critical",
        falco=falco(
            "Launch Suspicious Network Tool in Container",
            "Netcat Remote Code Execution in Container",
        ),
        # Named `nc`, as Debian's alternatives link makes it when netcat-traditional is in.
        attack=bash(
            "ln -s /usr/bin/nc.traditional /tmp/nc && "
            + LISTENER
            + RETRY.format("/tmp/nc -e /bin/sh 127.0.0.1 4444")
        ),
        benign=bash(
            'python3 -c \'import socket; s=socket.create_server(("127.0.0.1", 4444)); '
            "s.settimeout(20); s.accept()[0].recv(8)' & " + RETRY.format(PY_CLIENT)
        ),
    ),
    "04-read-shadow": Scenario(
        "Read sensitive file by untrusted program",
        "Warning",
        falco=falco("Read sensitive file untrusted"),
        attack=("cat", "/etc/shadow"),
        benign=("cat", "/etc/passwd"),
    ),
    "05-drop-and-execute": Scenario(
        "Drifted binary executed in container",
        "Error",
        falco=falco("Drop and execute new binary in container"),
        attack=bash("cp /bin/ls /tmp/ls2 && /tmp/ls2 /"),
        benign=bash("cp /bin/ls /tmp/ls2 && /bin/ls /"),
    ),
    "06-memfd-exec": Scenario(
        "Fileless execution from memfd",
        "Critical",
        falco=falco("Fileless execution via memfd_create"),
        attack=(
            "python3",
            "-c",
            "import os; fd=os.memfd_create('x', 0); os.write(fd, open('/bin/true','rb').read()); "
            "os.execv(f'/proc/self/fd/{fd}', ['x'])",
        ),
        benign=("python3", "-c", "import os; os.execv('/bin/true', ['true'])"),
    ),
    "07-ptrace-attach": Scenario(
        "Ptrace attach to process",
        "Warning",
        falco=falco("PTRACE attached to process"),
        attack=(
            "python3",
            "-c",
            "import ctypes,os,subprocess; p=subprocess.Popen(['sleep','30']); "
            "libc=ctypes.CDLL(None, use_errno=True); libc.ptrace(16, p.pid, 0, 0); "
            "os.waitpid(p.pid, 0); libc.ptrace(17, p.pid, 0, 0); p.kill()",
        ),
        benign=(
            "python3",
            "-c",
            "import subprocess; p=subprocess.Popen(['sleep','30']); p.kill()",
        ),
    ),
    "08-write-below-bin": Scenario(
        "Write below binary directory",
        "Error",
        attack=("cp", "/bin/true", "/usr/bin/helper"),
        benign=("cp", "/bin/true", "/tmp/helper"),
    ),
    "09a-mount": Scenario(
        "Mount in container",
        "Warning",
        attack=("mount", "-t", "tmpfs", "tmpfs", "/mnt"),
        benign=("findmnt", "/"),
    ),
    "09b-release-agent": Scenario(
        "Container escape file written",
        "Critical",
        falco=falco(
            "Detect release_agent File Container Escapes", "Mount Launched in Privileged Container"
        ),
        # A named cgroup v1 hierarchy of its own: opening its release_agent for writing is
        # the escape's step, and changes nothing on the host.
        attack=bash(
            "mkdir -p /tmp/cg && mount -t cgroup -o none,name=stockade_test cgroup /tmp/cg "
            "&& : > /tmp/cg/release_agent; umount /tmp/cg"
        ),
        benign=("cat", "/proc/self/cgroup"),
        run=("--privileged",),
    ),
    "09c-runtime-socket": Scenario(
        "Container runtime socket used in container",
        "Critical",
        attack=bash(
            UNIX_SERVER.format("/run/docker.sock")
            + RETRY.format(UNIX_CLIENT.format("/var/run/docker.sock"))
        ),
        benign=bash(
            UNIX_SERVER.format("/tmp/app.sock") + RETRY.format(UNIX_CLIENT.format("/tmp/app.sock"))
        ),
    ),
    "09d-nsenter-host": Scenario(
        "Namespace change in container",
        "Warning",
        falco=falco("Change thread namespace"),
        # Into the namespaces of a host process: a live conmon, found by name (the exec's
        # own parent may already be gone, runc's processes cannot be entered, and a removed
        # container's conmon may be a zombie whose namespaces are gone).
        attack=bash(
            "for p in /proc/[0-9]*; do read -r c < $p/comm 2>/dev/null;"
            ' [ "$c" = conmon ] && [ -e $p/ns/mnt ] && t=${p#/proc/}; done;'
            " nsenter -t $t -m -u -n hostname"
        ),
        benign=("nsenter", "--version"),
        run=("--privileged", "--pid", "host"),
    ),
    "10a-miner-name": Scenario(
        "Crypto miner executed",
        "Critical",
        attack=bash("ln -s /bin/true /tmp/xmrig && /tmp/xmrig -o stratum+tcp://pool.invalid:3333"),
        benign=bash("ln -s /bin/true /tmp/worker && /tmp/worker -o https://example.invalid"),
    ),
    "10b-stratum-any-port-private-address": Scenario(
        "Stratum mining protocol sent",
        "Critical",
        # A pool listening on port 8080 of the container's own private address (10.88/16).
        attack=bash(STRATUM_SERVER + RETRY.format(STRATUM_CLIENT.format(STRATUM_LOGIN))),
        benign=bash(STRATUM_SERVER + RETRY.format(STRATUM_CLIENT.format(HTTP_GET))),
    ),
    "11a-nmap": Scenario(
        "Network tool launched in container",
        "Notice",
        falco=falco("Launch Suspicious Network Tool in Container"),
        attack=("nmap", "-sT", "-Pn", "-p", "1-100", "127.0.0.1"),
        benign=("curl", "-s", "-o", "/dev/null", "file:///etc/hostname"),
    ),
    "11b-nc": Scenario(
        "Network tool launched in container",
        "Notice",
        falco=falco("Launch Suspicious Network Tool in Container"),
        attack=("nc", "-z", "127.0.0.1", "9"),
        benign=("curl", "-s", "-o", "/dev/null", "file:///etc/hostname"),
    ),
    "11c-socat": Scenario(
        "Network tool launched in container",
        "Notice",
        falco=falco("Launch Suspicious Network Tool in Container"),
        attack=("socat", "-u", "TCP:127.0.0.1:9", "STDOUT"),
        benign=("curl", "-s", "-o", "/dev/null", "file:///etc/hostname"),
    ),
    "12-package-manager": Scenario(
        "Package manager run in container",
        "Notice",
        falco=falco("Launch Package Management Process in Container"),
        attack=("apt-get", "-s", "install", "curl"),
        benign=("cat", "/var/lib/dpkg/status"),
    ),
    "13a-search-private-keys": Scenario(
        "Search for private keys or cloud credentials",
        "Warning",
        falco=falco("Search Private Keys or Passwords"),
        attack=("find", "/", "-xdev", "-name", "id_rsa"),
        benign=("find", "/app", "-name", "package.json"),
    ),
    "13b-grep-cloud-credentials": Scenario(
        "Search for private keys or cloud credentials",
        "Warning",
        falco=falco("Find AWS Credentials"),
        attack=("grep", "-rl", "aws_secret_access_key", "/app", "/root"),
        benign=("grep", "-rl", "express", "/app/package.json"),
    ),
    "13c-read-private-key": Scenario(
        "Read sensitive file by untrusted program",
        "Warning",
        falco=falco("Read ssh information"),
        attack=("cat", "/root/.ssh/id_rsa"),
        benign=("cat", "/app/package.json"),
    ),
    "14-kernel-module-load": Scenario(
        "Kernel module tool run in container",
        "Error",
        # busybox's insmod under its own name; this kernel has no module support, so the
        # load itself fails (ENOSYS) and only the attempt is there to see.
        attack=bash(
            "ln -s /usr/bin/busybox /tmp/insmod && printf x > /tmp/x.ko && /tmp/insmod /tmp/x.ko"
        ),
        benign=bash("ln -s /usr/bin/busybox /tmp/lsmod && /tmp/lsmod"),
    ),
    "15-setuid-bit": Scenario(
        "Setuid or setgid bit set",
        "Notice",
        falco=falco("Set Setuid or Setgid bit"),
        attack=bash("cp /bin/true /tmp/t && chmod u+s /tmp/t"),
        benign=bash("cp /bin/true /tmp/t && chmod 755 /tmp/t"),
    ),
    "16-web-shell": Scenario(
        "Shell spawned by a web server",
        "Critical",
        falco=falco("Run shell untrusted"),
        # busybox httpd runs /www/cgi-bin/sh (a shell) with the request body on stdin.
        entrypoint=bash(
            "mkdir -p /www/cgi-bin && echo hello > /www/index.html "
            "&& ln -s /bin/dash /www/cgi-bin/sh && exec httpd -f -p 8080 -h /www"
        ),
        attack=(
            "curl",
            "-s",
            "--retry",
            "50",
            "--retry-connrefused",
            "--retry-delay",
            "0",
            "--data-binary",
            "echo; id",
            "http://127.0.0.1:8080/cgi-bin/sh",
        ),
        benign=(
            "curl",
            "-s",
            "--retry",
            "50",
            "--retry-connrefused",
            "--retry-delay",
            "0",
            "http://127.0.0.1:8080/index.html",
        ),
    ),
    "19a-curl-pipe-sh": Scenario(
        "Remote script piped into a shell",
        "Error",
        attack=bash(HTTP + "curl -s http://127.0.0.1:8000/x.sh | sh; kill %1"),
        benign=bash(HTTP + "curl -s -o /tmp/x.sh http://127.0.0.1:8000/x.sh; kill %1"),
    ),
    "19b-wget-pipe-sh": Scenario(
        "Remote script piped into a shell",
        "Error",
        attack=bash(HTTP + "busybox wget -qO- http://127.0.0.1:8000/x.sh | bash; kill %1"),
        benign=bash(HTTP + "busybox wget -qO /tmp/x.sh http://127.0.0.1:8000/x.sh; kill %1"),
    ),
    "19c-base64-pipe-sh": Scenario(
        "Remote script piped into a shell",
        "Error",
        attack=bash("echo aWQK | base64 -d | sh"),
        benign=bash("echo aWQK | base64 -d"),
    ),
    "20a-log-clearing": Scenario(
        "Log file cleared",
        "Warning",
        falco=falco("Clear Log Activities"),
        attack=bash(": > /var/log/dpkg.log"),
        benign=bash("echo started >> /var/log/app.log"),
    ),
    "20b-shred": Scenario(
        "Secure deletion tool run",
        "Warning",
        falco=falco("Remove Bulk Data from Disk"),
        attack=("shred", "-u", "/var/log/alternatives.log"),
        benign=("rm", "-f", "/tmp/scratch"),
    ),
    "20c-shell-history-deleted": Scenario(
        "Shell history deleted",
        "Warning",
        falco=falco("Delete or rename shell history"),
        attack=bash("rm -f /root/.bash_history"),
        # A shell appending to its history, as it does at exit.
        benign=bash("echo ls >> /root/.bash_history"),
    ),
    "21a-symlink-over-shadow": Scenario(
        "Link to a sensitive file created",
        "Warning",
        falco=falco("Create Symlink Over Sensitive Files"),
        attack=("ln", "-s", "/etc/shadow", "/tmp/s"),
        benign=("ln", "-s", "/etc/hostname", "/tmp/hostname-link"),
    ),
    "21b-hardlink-over-shadow": Scenario(
        "Link to a sensitive file created",
        "Warning",
        falco=falco("Create Hardlink Over Sensitive Files"),
        attack=("ln", "/etc/shadow", "/tmp/h"),
        benign=("ln", "/etc/os-release", "/tmp/os-release-link"),
    ),
    "22-exec-from-dev-shm": Scenario(
        "Execution from /dev/shm",
        "Warning",
        falco=falco("Execution from /dev/shm"),
        attack=bash("cp /bin/true /dev/shm/x && /dev/shm/x"),
        benign=bash("cp /bin/true /dev/shm/x && /bin/true"),
        run=("--tmpfs", "/dev/shm:rw,exec,size=64m"),
    ),
    "23-packet-socket": Scenario(
        "Packet socket created in container",
        "Notice",
        falco=falco("Packet socket created in container"),
        attack=("python3", "-c", "import socket; socket.socket(socket.AF_PACKET, socket.SOCK_RAW)"),
        benign=("python3", "-c", "import socket; socket.socket(socket.AF_INET, socket.SOCK_DGRAM)"),
        run=("--cap-add", "NET_RAW"),
    ),
}
