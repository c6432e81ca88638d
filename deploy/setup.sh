#!/usr/bin/env bash
# deploy/setup.sh: install what is missing (Debian 12), configure and build.
#
# Idempotent: packages already present are not touched, an existing build
# directory is rebuilt incrementally. Run as root on a fresh machine to get the
# packages; as a normal user it only builds and names what is missing.
#   BUILD_DIR   build directory (default: build)
#   MESON_ARGS  extra arguments for the first `meson setup`
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}

# Debian packages the build, the tests and the tools need.
PKGS=(build-essential pkg-config meson ninja-build
      libopenmpi-dev openmpi-bin libzmq3-dev libmsgpack-dev libyaml-dev
      libcmocka-dev libopenblas-dev libnetcdf-dev netcdf-bin
      python3 python3-torch python3-numpy
      clang libclang-rt-14-dev gnuplot-nox tmux procps
      libmicrohttpd-dev curl
      slurm-wlm munge iproute2)  # tests/slurm (a private Slurm), tests/multinode (netns)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing Debian packages: ${missing[*]}" >&2
    echo "setup: run as root, or: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  # shellcheck disable=SC2086
  meson setup "$BUILD_DIR" ${MESON_ARGS:-} >/dev/null
fi
ninja -C "$BUILD_DIR" >/dev/null
echo "setup: built in $BUILD_DIR/"
