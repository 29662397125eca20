#!/usr/bin/env bash
# The server Playwright starts: the release build, a fresh SQLite database,
# the demo data set and 10,000 load users.
set -euo pipefail
source "$(dirname "$0")/env.sh"
PORT="${E2E_PORT:-3210}"
DB_DIR="$ROOT/end2end/.tmp/db-$$"
mkdir -p "$DB_DIR"
# the demo data set, then 10,000 more users for the search and paging tests
"$CARGO_TARGET_DIR/release/server" --demo --database-url "sqlite://$DB_DIR/console.db" \
    seed-users --count "${E2E_USERS:-10000}" --prefix load
exec "$CARGO_TARGET_DIR/release/server" --demo \
    --addr "127.0.0.1:$PORT" \
    --database-url "sqlite://$DB_DIR/console.db"
