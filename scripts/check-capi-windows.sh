#!/usr/bin/env bash
# Checks libsynccenter's Windows build as installed by `scripts/install-capi.sh --target x86_64-pc-windows-gnu
# PREFIX`: mingw-w64's gcc compiles crates/synccenter-capi/tests/windows/link.c with the flags pkg-config gives,
# once against the import library (the program loads bin/synccenter.dll) and once against the static library,
# and Wine runs both (through .ci/wine-run, which supplies the bcryptprimitives.dll Debian's Wine 8 lacks) in
# $WINEPREFIX, else in a fresh prefix; each must print "ok". Needs gcc-mingw-w64-x86-64, pkg-config and wine.
#
#   scripts/check-capi-windows.sh PREFIX
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=${1:?usage: check-capi-windows.sh PREFIX}
cc=x86_64-w64-mingw32-gcc
work=$(mktemp -d /tmp/synccenter-capi-windows.XXXXXX)
# A prefix already in use (CI's Windows step) is reused, which saves starting Wine in a new one.
if [[ -n ${WINEPREFIX:-} ]]; then
  trap 'rm -rf "$work"' EXIT
else
  export WINEPREFIX=$work/wine
  trap 'wineserver -k 2>/dev/null || true; rm -rf "$work"' EXIT
fi

pc() { PKG_CONFIG_LIBDIR=$prefix/lib/pkgconfig pkg-config "$@" synccenter; }
# shellcheck disable=SC2046 # pkg-config's flags are words
"$cc" -std=c11 -Wall -Wextra -Werror crates/synccenter-capi/tests/windows/link.c $(pc --cflags --libs) \
  -o "$work/link.exe"
# shellcheck disable=SC2046
"$cc" -std=c11 -Wall -Wextra -Werror -static crates/synccenter-capi/tests/windows/link.c $(pc --cflags) \
  "$prefix/lib/libsynccenter.a" $(pc --static --libs-only-l | sed 's/-lsynccenter//') -o "$work/link-static.exe"
# The dynamic program must not run without the DLL (it really imports it), and must run beside it.
if .ci/wine-run "$work/link.exe" >/dev/null 2>&1; then
  echo "check-capi-windows.sh: link.exe ran without synccenter.dll: it does not import the library" >&2
  exit 1
fi
cp "$prefix/bin/synccenter.dll" "$work/"
for program in link.exe link-static.exe; do
  out=$(.ci/wine-run "$work/$program" | tr -d '\r')
  if [[ $out != ok ]]; then
    echo "check-capi-windows.sh: $program printed ${out:-nothing}, not ok" >&2
    exit 1
  fi
  echo "$program: ok"
done
