#!/bin/sh
# Install what qblock needs to build and test, with apt-get.
#
#   scripts/install-deps.sh            install whatever is missing (root)
#   scripts/install-deps.sh --ensure   what the Makefile runs: install as
#       root; as another user print the apt-get line, and fail only if a
#       *build* dependency is missing (missing test peers make tests SKIP)
#
# Idempotent: packages already present are left alone, and apt-get update
# runs only when something is missing.  The test peers (qemu-img, qemu-io,
# qemu-nbd, qemu-storage-daemon, qemu-system-x86_64 for the QMP commands
# only the emulator has, nbdkit, nbdcopy, fio, socat) are installed too,
# because the iotests use them as the reference implementation; a test whose peer is missing prints
# a SKIP line instead of passing.
set -eu

BUILD_PKGS="meson ninja-build pkg-config gcc libglib2.0-dev libjson-glib-dev
liburing-dev systemtap-sdt-dev clang libclang-rt-14-dev python3"
TEST_PKGS="qemu-utils qemu-system-common qemu-system-x86 qemu-block-extra
nbdkit libnbd-bin fio iproute2 socat"

missing=""
for p in $BUILD_PKGS $TEST_PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
        missing="$missing $p"
    fi
done

ensure=false
[ "${1:-}" = "--ensure" ] && ensure=true

if [ -z "$missing" ]; then
    $ensure || echo "install-deps: everything is installed"
    exit 0
fi

if [ "$(id -u)" != 0 ]; then
    echo "install-deps: missing:$missing" >&2
    echo "install-deps: run as root: apt-get install -y$missing" >&2
    if $ensure; then
        # Only the build itself is a hard requirement.
        for p in $BUILD_PKGS; do
            case " $missing " in *" $p "*) exit 1 ;; esac
        done
        exit 0
    fi
    exit 1
fi

echo "install-deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# shellcheck disable=SC2086
apt-get install -y -q --no-install-recommends $missing
