#!/usr/bin/env bash
# The server Playwright starts: the release build, a fresh SQLite database,
# the demo data set.
set -euo pipefail
source "$(dirname "$0")/env.sh"
PORT="${E2E_PORT:-3210}"
DB_DIR="$ROOT/end2end/.tmp/db-$$"
mkdir -p "$DB_DIR"
exec "$CARGO_TARGET_DIR/release/server" --demo \
    --addr "127.0.0.1:$PORT" \
    --database-url "sqlite://$DB_DIR/console.db"
