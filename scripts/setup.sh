#!/usr/bin/env bash
# Installs everything the build (and, with `test`, the test suite) needs, from
# package registries only. Idempotent: quick when everything is there.
# Usage: scripts/setup.sh [run|test|bench]
set -euo pipefail
source "$(dirname "$0")/env.sh"
MODE="${1:-run}"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
APT_UPDATED=""
apt_install() {
    if [ -z "$APT_UPDATED" ]; then as_root apt-get update -qq; APT_UPDATED=1; fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
}

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    log "installing Node.js and npm (Debian)"
    apt_install nodejs npm
fi

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    log "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
fi

if [ "$(cargo leptos --version 2>/dev/null || true)" != "cargo-leptos $CARGO_LEPTOS_VERSION" ]; then
    log "installing cargo-leptos $CARGO_LEPTOS_VERSION (about 12 minutes on 2 cores)"
    cargo install cargo-leptos --version "$CARGO_LEPTOS_VERSION" --locked
fi

# cargo-leptos would download wasm-bindgen; it must be the exact Cargo.lock version.
WASM_BINDGEN_VERSION="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' "$ROOT/Cargo.lock")"
if [ "$(wasm-bindgen --version 2>/dev/null || true)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]; then
    log "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION"
    # not --locked: its lock file names a crate version the registry lacks
    cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
fi

# npm packages: Playwright for the browser tests, binaryen for wasm-opt.
if [ ! -x "$ROOT/end2end/node_modules/.bin/wasm-opt" ] || [ ! -d "$ROOT/end2end/node_modules/@playwright/test" ] \
    || [ "$ROOT/end2end/package-lock.json" -nt "$ROOT/end2end/node_modules/.package-lock.json" ]; then
    log "installing npm packages in end2end/"
    (cd "$ROOT/end2end" && npm ci --no-audit --no-fund)
fi

if [ "$MODE" = test ] || [ "$MODE" = bench ]; then
    missing=()
    command -v chromium >/dev/null || missing+=(chromium)
    command -v curl >/dev/null || missing+=(curl)
    ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
    if [ ${#missing[@]} -gt 0 ]; then
        log "installing ${missing[*]} (Debian)"
        apt_install "${missing[@]}"
    fi
fi

if [ "$MODE" = bench ] && ! command -v wrk >/dev/null; then
    log "installing wrk (Debian), the load generator of the gateway benchmark"
    apt_install wrk
fi
