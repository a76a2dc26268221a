#!/bin/sh
# Install what the cross-compilation tests need on Debian/Ubuntu (as root):
# the aarch64 and riscv64 GNU cross compilers (with their glibc, libm and libgomp sysroots
# under /usr/<triple>) and qemu-user to run their programs on this machine.
#
#   sudo scripts/install-cross-toolchains.sh
#   python -m pytest -m cross tests/e2e/deploy
set -eu
PACKAGES="gcc-aarch64-linux-gnu gcc-riscv64-linux-gnu libc6-dev-arm64-cross libc6-dev-riscv64-cross qemu-user"
if [ "$(id -u)" != 0 ]; then
    echo "error: run as root (sudo $0)" >&2
    exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "error: apt-get not found: install $PACKAGES with your package manager" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086  # one word per package
apt-get install -y -q --no-install-recommends $PACKAGES
