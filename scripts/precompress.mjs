// Writes brotli (quality 11) and gzip (level 9) copies beside each script,
// style sheet and wasm file of the built site, so the server sends the
// smallest encoding a browser accepts without compressing per request.
// Usage: node scripts/precompress.mjs <site pkg dir>
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { brotliCompressSync, constants, gzipSync } from "node:zlib";

const dir = process.argv[2];
for (const name of readdirSync(dir)) {
  if (!/\.(wasm|js|css)$/.test(name)) continue;
  const file = join(dir, name);
  const body = readFileSync(file);
  const brotli = brotliCompressSync(body, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: 11,
      [constants.BROTLI_PARAM_SIZE_HINT]: statSync(file).size,
    },
  });
  writeFileSync(`${file}.br`, brotli);
  writeFileSync(`${file}.gz`, gzipSync(body, { level: 9 }));
  console.log(`${name}: ${body.length} bytes, brotli ${brotli.length}, gzip ${statSync(`${file}.gz`).size}`);
}
