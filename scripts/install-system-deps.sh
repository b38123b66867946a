#!/usr/bin/env bash
# Install the Debian packages Stockade needs, only those missing. Idempotent.
# Usage: install-system-deps.sh [run|test|bench]   (each group includes the ones before it)
set -euo pipefail
group=${1:-run}

run_pkgs=(podman runc busybox-static clang llvm bpftool libbpf-dev uidmap gcc libc6-dev nftables)  # gcc: the compiled decoder; nftables: isolate_container
test_pkgs=(chromium postgresql nats-server redis-server auditd containerd)  # auditd: for auditctl only; its daemon must not run
test_pkgs+=(buildah)  # build steps of the buildah CLI (tests/context/test_buildah.py)
# Podman's netavark network backend, used by tests on a store of their own (the host's
# default backend is left as it is): container.cni.json (tests/context/test_cni.py).
test_pkgs+=(netavark aardvark-dns)
# Attack tools copied into the detection scenarios' image (tests/support/tools_image.py).
test_pkgs+=(netcat-openbsd netcat-traditional socat nmap strace curl python3)
# The SSH brute force scenario's server and client (tests/detect/ssh_image.py); no init
# system here starts the host's sshd.
test_pkgs+=(openssh-server openssh-client)
# The container images' root filesystem (deploy/images/build.sh); sqlite3 and systemd for
# the documented backup and the units' checks (tests/deploy).
test_pkgs+=(debootstrap sqlite3 systemd)
# deploy/compose.yaml brought up for real from those images (tests/deploy/test_compose_run.py).
test_pkgs+=(podman-compose)
# A Docker Engine the image-name tests load images into (tests/scan/test_runtime_daemons.py).
test_pkgs+=(docker.io)
# Jars with no embedded POM outside a Maven layout, whose groupId is inferred
# (tests/scan/test_jar_group.py).
test_pkgs+=(libgeronimo-annotation-1.3-spec-java libwagon-http-shaded-java gettext-base)
bench_pkgs=(redis-tools hyperfine valgrind)  # valgrind: bench_scan_startup.py counts instructions

pkgs=("${run_pkgs[@]}")
case "$group" in
  run) ;;
  test) pkgs+=("${test_pkgs[@]}") ;;
  bench) pkgs+=("${test_pkgs[@]}" "${bench_pkgs[@]}") ;;
  *) echo "install-system-deps.sh: unknown group '$group' (run|test|bench)" >&2; exit 2 ;;
esac

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "install-system-deps.sh: missing Debian packages (${missing[*]}); run as root" >&2
  exit 1
fi
echo "Installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
