#!/usr/bin/env bash
# Release build of the server and the wasm front end (wasm-opt from npm).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
log "building the console (release)"
cargo leptos build --release
log "building the command-line client (release)"
cargo build --release -p console-cli
