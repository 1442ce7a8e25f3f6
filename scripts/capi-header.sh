#!/usr/bin/env bash
# Regenerates crates/synccenter-capi/include/synccenter.h with cbindgen (a dev-dependency of the crate, so no
# tool to install): the header test writes it instead of failing when asked to bless.
set -euo pipefail
cd "$(dirname "$0")/.."
SYNCCENTER_BLESS=1 cargo test --locked --quiet -p synccenter-capi --test header
