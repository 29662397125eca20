#!/usr/bin/env bash
# `make test`: set up what is missing, then run everything: formatting, lints,
# unit and integration tests on SQLite and PostgreSQL, and the Playwright suite
# in headless Chromium against the real server.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
"$ROOT/scripts/setup.sh" test

log "cargo fmt --check"
cargo fmt --all --check

log "cargo clippy (server side, then wasm side)"
cargo clippy --release --workspace --exclude frontend --all-targets -- -D warnings
cargo clippy --release -p frontend --target wasm32-unknown-unknown -- -D warnings

log "starting PostgreSQL for the tests"
CONSOLE_TEST_POSTGRES_URL="$("$ROOT/scripts/postgres.sh" start)"
export CONSOLE_TEST_POSTGRES_URL
trap '"$ROOT/scripts/postgres.sh" stop' EXIT

log "unit and integration tests (SQLite and PostgreSQL)"
# each SQLite test has a folder of its own; earlier runs' are of no use
rm -rf "${TMPDIR:-/tmp}"/console_test_*
cargo test --release --workspace --exclude frontend

"$ROOT/scripts/build.sh"

log "end-to-end tests (Playwright, headless Chromium)"
rm -rf "$ROOT/end2end/.tmp"
(cd "$ROOT/end2end" && npx playwright test)
