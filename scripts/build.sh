#!/usr/bin/env bash
# Release build of the server and the wasm front end (wasm-opt from npm).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
log "building the console (release)"
# --precompress: brotli and gzip copies of every file of the site, which the
# server sends to browsers that accept them; --split: the wasm cut into a
# main module and one chunk per lazily loaded page (app/src/lib.rs)
cargo leptos build --release --precompress --split
# the names of the site's files by content travel with the site
cp "$CARGO_TARGET_DIR/release/hash.txt" "$LEPTOS_SITE_ROOT/hash.txt"
log "building the command-line client (release)"
cargo build --release -p console-cli
