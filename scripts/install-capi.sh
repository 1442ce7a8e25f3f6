#!/usr/bin/env bash
# Installs libsynccenter, the C library (docs/c-api.md): builds crates/synccenter-capi and copies the shared
# library (libsynccenter.so.VERSION with the .so.0 and .so links), the static library, include/synccenter.h, the
# COM-shaped C++ header include/synccenter.hpp and the pkg-config file synccenter.pc under PREFIX (lib/, include/,
# lib/pkgconfig/).
#
#   scripts/install-capi.sh [PREFIX]        PREFIX defaults to /usr/local; DESTDIR is honoured for packaging
#   SYNCCENTER_CAPI_PROFILE=dev scripts/install-capi.sh PREFIX   installs the debug build (what CI tests)
#   scripts/install-capi.sh --target x86_64-pc-windows-gnu PREFIX
#       cross-builds for Windows with mingw-w64 and installs bin/synccenter.dll, its import library
#       lib/libsynccenter.dll.a, the static library lib/libsynccenter.a, the headers and synccenter.pc
#       (scripts/check-capi-windows.sh PREFIX links a C program against them and runs it under Wine)
set -euo pipefail
cd "$(dirname "$0")/.."
triple=
if [[ ${1:-} == --target ]]; then
  triple=${2:?install-capi.sh: --target needs a target triple}
  shift 2
fi
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
case $triple in
  '' | *-linux-*) ;;
  *-windows-gnu) ;;
  *) echo "install-capi.sh: --target must be a Linux target or x86_64-pc-windows-gnu, not $triple" >&2; exit 2 ;;
esac

cargo build --locked --quiet --profile "$profile" -p synccenter-capi ${triple:+--target "$triple"}
target=${CARGO_TARGET_DIR:-target}/${triple:+$triple/}$dir
pkgid=$(cargo pkgid --locked -p synccenter-capi)
version=${pkgid##*[@#]}

root=${DESTDIR:-}$prefix
install -d "$root/lib/pkgconfig" "$root/include"
if [[ $triple == *-windows-gnu ]]; then
  # Windows finds a DLL beside the program or on PATH, hence bin/; programs link the import library.
  install -d "$root/bin"
  install -m 0755 "$target/synccenter.dll" "$root/bin/synccenter.dll"
  install -m 0644 "$target/libsynccenter.dll.a" "$root/lib/libsynccenter.dll.a"
  # What `rustc --print native-static-libs` names for the static library on windows-gnu.
  private="-lkernel32 -lntdll -luserenv -lws2_32 -ldbghelp"
else
  install -m 0755 "$target/libsynccenter.so" "$root/lib/libsynccenter.so.$version"
  ln -sf "libsynccenter.so.$version" "$root/lib/libsynccenter.so.0"
  ln -sf "libsynccenter.so.0" "$root/lib/libsynccenter.so"
  private="-lpthread -ldl -lm"
fi
install -m 0644 "$target/libsynccenter.a" "$root/lib/libsynccenter.a"
install -m 0644 crates/synccenter-capi/include/synccenter.h "$root/include/synccenter.h"
install -m 0644 crates/synccenter-capi/include/synccenter.hpp "$root/include/synccenter.hpp"
sed -e "s|@PREFIX@|$prefix|" -e "s|@VERSION@|$version|" -e "s|@PRIVATE@|$private|" \
  crates/synccenter-capi/synccenter.pc.in >"$root/lib/pkgconfig/synccenter.pc"
chmod 0644 "$root/lib/pkgconfig/synccenter.pc"
echo "installed libsynccenter $version${triple:+ for $triple} under $root (pkg-config: PKG_CONFIG_PATH=$prefix/lib/pkgconfig)"
