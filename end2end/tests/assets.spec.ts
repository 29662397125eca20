import { expect, test } from "@playwright/test";
import { hydrated, signIn } from "./helpers";

test("the site's wasm, script and styles go out precompressed and are revalidated, not fetched again", async ({ page }) => {
  const sent = new Map<string, { encoding: string | undefined; bytes: number; status: number }>();
  page.on("response", async (response) => {
    const url = new URL(response.url());
    // the first response of each file: the cold load
    if (!url.pathname.startsWith("/pkg/") || sent.has(url.pathname)) return;
    const sizes = await response.request().sizes();
    sent.set(url.pathname, { encoding: response.headers()["content-encoding"], bytes: sizes.responseBodySize, status: response.status() });
  });
  await signIn(page);
  await expect(page).toHaveURL(/\/$/);
  await hydrated(page);
  for (const file of ["/pkg/console.wasm", "/pkg/console.js", "/pkg/console.css"]) {
    const got = sent.get(file);
    expect(got, file).toBeDefined();
    expect(got!.status, file).toBe(200);
    expect(got!.encoding, file).toBe("br");
  }
  const wasm = sent.get("/pkg/console.wasm")!;
  const raw = (await (await page.request.get("/pkg/console.wasm", { headers: { "accept-encoding": "identity" } })).body()).length;
  console.log(`cold load sent the wasm as brotli: ${wasm.bytes} of ${raw} bytes`);
  expect(wasm.status).toBe(200);
  expect(wasm.bytes).toBeGreaterThan(0);
  expect(wasm.bytes).toBeLessThan(raw * 0.35);

  // the headers a browser caches by, and the 304 it gets once it has the file
  for (const [encoding, expected] of [
    ["br", "br"],
    ["gzip", "gzip"],
    ["identity", undefined],
  ] as const) {
    const reply = await page.request.get("/pkg/console.wasm", { headers: { "accept-encoding": encoding } });
    expect(reply.status()).toBe(200);
    expect(reply.headers()["content-encoding"]).toBe(expected);
    expect(reply.headers()["content-type"]).toBe("application/wasm");
    expect(reply.headers()["cache-control"]).toBe("no-cache");
  }
  const first = await page.request.get("/pkg/console.js", { headers: { "accept-encoding": "br" } });
  const modified = first.headers()["last-modified"];
  expect(modified).toBeTruthy();
  const again = await page.request.get("/pkg/console.js", { headers: { "accept-encoding": "br", "if-modified-since": modified } });
  expect(again.status()).toBe(304);

  // a reload revalidates: nothing of the wasm is sent again
  sent.clear();
  await page.reload();
  await hydrated(page);
  const reloaded = sent.get("/pkg/console.wasm");
  if (reloaded) {
    expect([200, 304]).toContain(reloaded.status);
    if (reloaded.status === 304) expect(reloaded.bytes).toBe(0);
  }
});
