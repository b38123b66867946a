#!/usr/bin/env bash
# Build Stockade's container images with podman, with no registry: the base is a Debian
# root filesystem made here with debootstrap, the Python package a wheel built from this
# source tree, installed into a virtualenv in the image with the network switched off.
#
# Usage: deploy/images/build.sh [agent|platform|all]
#   agent     localhost/stockade-agent:TAG     runs `stockade agent` (privileged, host PID)
#   platform  localhost/stockade-platform:TAG  runs `stockade SUBCOMMAND`, default `server`
#             (a layer on the agent's image, which it builds too)
# Environment:
#   STOCKADE_IMAGE_TAG    tag of the images (default: latest)
#   STOCKADE_IMAGE_CACHE  where the root filesystem is kept between builds, by a hash of
#                         its inputs (default: ~/.cache/stockade-images)
#   STOCKADE_WHEEL        a stockade wheel already built from this tree, installed instead
#                         of building one (default: build it)
#   PYTHON                Python 3.11 (Debian 12's) that builds the wheels (default: python3)
#   DEBIAN_MIRROR         debootstrap's mirror (default: http://deb.debian.org/debian)
#   PODMAN_FLAGS          global podman flags (e.g. --runtime runc --cgroup-manager cgroupfs)
#   PODMAN_RUN_FLAGS      flags for the install step's `podman run` (e.g. --ulimit ...)
# Needs root (debootstrap), podman, pip and, to build the wheel, clang (the eBPF object).
set -euo pipefail

what=${1:-all}
case "$what" in agent|platform|all) ;; *)
  echo "build.sh: unknown image '$what' (agent|platform|all)" >&2; exit 2 ;;
esac
repo=$(cd "$(dirname "$0")/../.." && pwd)
tag=${STOCKADE_IMAGE_TAG:-latest}
cache=${STOCKADE_IMAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/stockade-images}
python=${PYTHON:-python3}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
read -r -a podman_flags <<< "${PODMAN_FLAGS:-}"
read -r -a run_flags <<< "${PODMAN_RUN_FLAGS:-}"
podman() { command podman "${podman_flags[@]}" "$@"; }

# The base: bookworm's Python 3.11 (the wheels' ABI), the system libbpf the sensor loads
# through ctypes, nft for the network isolation response. Bump `recipe` when the steps
# below change what the same inputs produce.
suite=bookworm
packages=python3,python3-venv,libbpf1,nftables
recipe=2
key=$(printf '%s\n' "$suite" "$packages" "$recipe" | sha256sum | cut -c1-16)
base=localhost/stockade-base:$key
mkdir -p "$cache"

make_rootfs() {
  local tar=$cache/rootfs-$key.tar work
  if [ ! -f "$tar" ]; then
    work=$(mktemp -d "$cache/rootfs.XXXXXX")
    echo "debootstrap $suite (+$packages) into $work" >&2
    debootstrap --variant=minbase --include="$packages" "$suite" "$work/root" "$mirror" >&2
    # apt's indexes and downloaded packages, manuals, translations: of no use in an image
    # (each package's copyright file stays)
    rm -rf "$work/root/var/lib/apt/lists/"* "$work/root/var/cache/apt/"*
    rm -rf "$work/root/usr/share/man/"* "$work/root/usr/share/info/"* \
      "$work/root/usr/share/locale/"*
    find "$work/root/usr/share/doc" -type f ! -name copyright -delete
    tar -C "$work/root" --numeric-owner -cf "$tar.partial" .
    mv "$tar.partial" "$tar"
    rm -rf "$work"
  fi
  podman import -q --change 'CMD ["/bin/bash"]' "$tar" "$base" >/dev/null
}

podman image exists "$base" || make_rootfs
# a root filesystem of other inputs is of no more use
find "$cache" -maxdepth 1 -name 'rootfs-*.tar' ! -name "rootfs-$key.tar" -delete

version=$(sed -n 's/^version = "\(.*\)"/\1/p' "$repo/pyproject.toml")
wheels=$(mktemp -d)
trap 'rm -rf "$wheels"' EXIT
if [ -n "${STOCKADE_WHEEL:-}" ]; then
  cp "$STOCKADE_WHEEL" "$wheels/"
else
  echo "[${SECONDS}s] building the stockade $version wheel" >&2
  "$python" -m pip wheel -q --no-deps -w "$wheels" "$repo" >&2
fi
wheel=$(ls "$wheels"/stockade-*.whl)

# The dependencies' wheels, kept by a hash of the dependency lists (pip's own cache would
# still ask the index about each of them on every build).
deps_key=$("$python" -c 'import json, sys, tomllib
project = tomllib.load(open(sys.argv[1], "rb"))["project"]
print(json.dumps([project["dependencies"], project["optional-dependencies"]["platform"]]))' \
  "$repo/pyproject.toml" | sha256sum | cut -c1-16)
deps=$cache/wheels-$deps_key
if [ ! -d "$deps" ]; then
  echo "[${SECONDS}s] downloading or building the dependencies' wheels" >&2
  partial=$(mktemp -d "$cache/wheels.XXXXXX")
  "$python" -m pip wheel -q -w "$partial" "$wheel[platform]" >&2
  rm -f "$partial"/stockade-*.whl
  mv "$partial" "$deps"
fi
find "$cache" -maxdepth 1 -name 'wheels-*' ! -name "wheels-$deps_key" -exec rm -rf {} +

# pip runs from bookworm's own pip wheel: the images' virtualenv carries no pip or setuptools
pip=/usr/share/python-wheels/pip-*.whl
pip_install="/opt/stockade/bin/python \$(ls $pip)/pip install -q --no-index --no-cache-dir"
pip_install+=" --find-links /wheels --find-links /deps"

# install_layer FROM NAME SCRIPT CMD-JSON: run SCRIPT in a container of FROM with the wheels
# and no network, commit it as one layer named NAME whose default command is CMD-JSON.
install_layer() {
  local from=$1 name=$2 script=$3 cmd=$4 builder=stockade-build-$2-$$
  podman rm -f "$builder" >/dev/null 2>&1 || true
  podman run --name "$builder" --network none "${run_flags[@]}" \
    -v "$wheels:/wheels:ro" -v "$deps:/deps:ro" --entrypoint /bin/sh "$from" -ec "$script" >&2 ||
    { podman rm -f "$builder" >/dev/null; echo "build.sh: installing $name failed" >&2; exit 1; }
  podman commit -q \
    --change 'ENV PATH=/opt/stockade/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV STOCKADE_DATA_DIR=/var/lib/stockade' \
    --change 'ENV STOCKADE_SERVER__HOST=0.0.0.0' \
    --change 'ENTRYPOINT ["/opt/stockade/bin/stockade"]' \
    --change "CMD $cmd" \
    --change "LABEL org.opencontainers.image.title=stockade-$name" \
    --change "LABEL org.opencontainers.image.version=$version" \
    "$builder" "localhost/stockade-$name:$tag" >/dev/null
  podman rm -f "$builder" >/dev/null
  echo "[${SECONDS}s] localhost/stockade-$name:$tag" >&2
}

# The agent: the package with only what the agent needs. The platform: the agent's image
# plus the platform's extras, one more layer (every platform dependency is the agent's
# or an extra), its command the subcommand: `podman run IMAGE worker` runs a worker.
install_layer "$base" agent "
  python3 -m venv --without-pip /opt/stockade
  $pip_install 'stockade[agent]'
  mkdir -p /var/lib/stockade /etc/stockade" '["agent"]'
[ "$what" = platform ] || echo "localhost/stockade-agent:$tag"
if [ "$what" = platform ] || [ "$what" = all ]; then
  install_layer "localhost/stockade-agent:$tag" platform "$pip_install 'stockade[platform]'" '["server"]'
  echo "localhost/stockade-platform:$tag"
fi
