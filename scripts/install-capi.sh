#!/usr/bin/env bash
# Installs libsynccenter, the C library (docs/c-api.md): builds crates/synccenter-capi and copies the shared
# library (libsynccenter.so.VERSION with the .so.0 and .so links), the static library, include/synccenter.h, the
# COM-shaped C++ header include/synccenter.hpp and the pkg-config file synccenter.pc under PREFIX (lib/, include/,
# lib/pkgconfig/).
#
#   scripts/install-capi.sh [PREFIX]        PREFIX defaults to /usr/local; DESTDIR is honoured for packaging
#   SYNCCENTER_CAPI_PROFILE=dev scripts/install-capi.sh PREFIX   installs the debug build (what CI tests)
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=${1:-/usr/local}
profile=${SYNCCENTER_CAPI_PROFILE:-release}
case $profile in
  release) dir=release ;;
  dev) dir=debug ;;
  *) echo "install-capi.sh: SYNCCENTER_CAPI_PROFILE must be release or dev, not $profile" >&2; exit 2 ;;
esac
case $prefix in
  /*) ;;
  *) echo "install-capi.sh: PREFIX must be an absolute path, not $prefix" >&2; exit 2 ;;
esac

cargo build --locked --quiet --profile "$profile" -p synccenter-capi
target=${CARGO_TARGET_DIR:-target}/$dir
pkgid=$(cargo pkgid --locked -p synccenter-capi)
version=${pkgid##*[@#]}

root=${DESTDIR:-}$prefix
install -d "$root/lib/pkgconfig" "$root/include"
install -m 0755 "$target/libsynccenter.so" "$root/lib/libsynccenter.so.$version"
ln -sf "libsynccenter.so.$version" "$root/lib/libsynccenter.so.0"
ln -sf "libsynccenter.so.0" "$root/lib/libsynccenter.so"
install -m 0644 "$target/libsynccenter.a" "$root/lib/libsynccenter.a"
install -m 0644 crates/synccenter-capi/include/synccenter.h "$root/include/synccenter.h"
install -m 0644 crates/synccenter-capi/include/synccenter.hpp "$root/include/synccenter.hpp"
sed -e "s|@PREFIX@|$prefix|" -e "s|@VERSION@|$version|" crates/synccenter-capi/synccenter.pc.in \
  >"$root/lib/pkgconfig/synccenter.pc"
chmod 0644 "$root/lib/pkgconfig/synccenter.pc"
echo "installed libsynccenter $version under $root (pkg-config: PKG_CONFIG_PATH=$prefix/lib/pkgconfig)"
