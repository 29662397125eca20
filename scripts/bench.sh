#!/usr/bin/env bash
# `make bench`: every performance figure in one run on this machine, then one
# table of figures, ratios and targets (scripts/bench-table.mjs). The raw
# figures stay in $CARGO_TARGET_DIR/bench/.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
"$ROOT/scripts/setup.sh" bench
OUT="$CARGO_TARGET_DIR/bench"
rm -rf "$OUT"
mkdir -p "$OUT"

log "decision cost: ours vs casbin-rs at three sizes (criterion)"
rm -rf "$CARGO_TARGET_DIR/criterion/decision-"*
cargo bench -p policy --bench decision

log "gateway: overhead, login flood, change propagation, memory (wrk, 64 connections)"
BENCH_OUT="$OUT/gateway.json" cargo bench -p server --bench gateway

log "changes across servers: two servers on one PostgreSQL at the large fixture"
PG_URL="$("$ROOT/scripts/postgres.sh" start)"
CONSOLE_BENCH_POSTGRES_URL="$PG_URL" BENCH_OUT="$OUT/instances.json" cargo bench -p server --bench instances

log "who can call and the impact of a toggle at the large fixture"
BENCH_OUT="$OUT/insight.json" cargo bench -p server --bench insight

"$ROOT/scripts/build.sh"

log "wasm size after wasm-opt"
node -e '
const fs = require("fs"), zlib = require("zlib");
const wasm = fs.readFileSync(process.argv[1]);
const brotli = zlib.brotliCompressSync(wasm, { params: {
  [zlib.constants.BROTLI_PARAM_QUALITY]: 11, [zlib.constants.BROTLI_PARAM_LGWIN]: 24 } });
fs.writeFileSync(process.argv[2], JSON.stringify({ raw: wasm.length,
  gzip: zlib.gzipSync(wasm, { level: 9 }).length, brotli: brotli.length }));
' "$(ls "$LEPTOS_SITE_ROOT"/pkg/console*.wasm | head -n 1)" "$OUT/wasm.json"

log "console timings with 10,000 users (Playwright)"
rm -rf "$ROOT/end2end/.tmp"
(cd "$ROOT/end2end" && BENCH_OUT_CONSOLE="$OUT/console.json" npx playwright test --config playwright.bench.config.ts)

node "$ROOT/scripts/bench-table.mjs" "$OUT" "$CARGO_TARGET_DIR/criterion" | tee "$OUT/table.md"
