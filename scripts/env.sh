# Shared settings for the scripts; sourced, not run.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ROOT
# Builds are slow on small machines: keep the cargo target folder outside the
# clone so every checkout and CI run reuses it.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/console-target}"
export PATH="$HOME/.cargo/bin:$ROOT/end2end/node_modules/.bin:$PATH"
export LEPTOS_SITE_ROOT="${LEPTOS_SITE_ROOT:-$ROOT/target/site}"
CARGO_LEPTOS_VERSION="0.3.10"
log() { printf '\n==> %s\n' "$*"; }
