#!/usr/bin/env bash
# `make run`: set up, build, and serve the console with the demo data set.
# DATABASE_URL, LEPTOS_SITE_ADDR, SESSION_TIMEOUT_SECS, CONSOLE_ADMIN_EMAIL and
# CONSOLE_ADMIN_PASSWORD are honoured when set.
set -euo pipefail
source "$(dirname "$0")/env.sh"
"$ROOT/scripts/setup.sh" run
"$ROOT/scripts/build.sh"
cd "$ROOT"
exec "$CARGO_TARGET_DIR/release/server" --demo "$@"
