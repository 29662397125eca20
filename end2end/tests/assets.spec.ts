import { createHash } from "node:crypto";
import { expect, test } from "@playwright/test";
import { hydrated, open, signIn } from "./helpers";

/** The hash cargo-leptos names a file by: base64url MD5 of its bytes. */
function contentHash(bytes: Buffer): string {
  return createHash("md5").update(bytes).digest("base64url");
}

/** What the browser got for each file under /pkg/, the first time it asked. */
function recordPkg(page: import("@playwright/test").Page) {
  const sent = new Map<string, { encoding: string | undefined; bytes: number; status: number }>();
  page.on("response", async (response) => {
    const url = new URL(response.url());
    if (!url.pathname.startsWith("/pkg/") || sent.has(url.pathname)) return;
    const sizes = await response.request().sizes();
    sent.set(url.pathname, {
      encoding: response.headers()["content-encoding"],
      bytes: sizes.responseBodySize,
      status: response.status(),
    });
  });
  return sent;
}

test("the site's files are named by content, sent precompressed and kept by the browser", async ({ page }) => {
  const sent = recordPkg(page);
  await signIn(page);
  await expect(page).toHaveURL(/\/$/);
  await hydrated(page);

  // one wasm, one script, one stylesheet, each named by its content
  const files = [...sent.keys()];
  const wasm = files.find((file) => /^\/pkg\/console\.[A-Za-z0-9_-]{10,}\.wasm$/.test(file));
  const script = files.find((file) => /^\/pkg\/console\.[A-Za-z0-9_-]{10,}\.js$/.test(file));
  const style = files.find((file) => /^\/pkg\/console\.[A-Za-z0-9_-]{10,}\.css$/.test(file));
  expect(wasm, files.join(", ")).toBeDefined();
  expect(script, files.join(", ")).toBeDefined();
  expect(style, files.join(", ")).toBeDefined();
  for (const file of [wasm!, script!, style!]) {
    expect(sent.get(file)!.status, file).toBe(200);
    expect(sent.get(file)!.encoding, file).toBe("br");
  }
  const raw = (await (await page.request.get(wasm!, { headers: { "accept-encoding": "identity" } })).body()).length;
  const cold = sent.get(wasm!)!.bytes;
  console.log(`cold load sent the wasm as brotli: ${cold} of ${raw} bytes`);
  expect(cold).toBeGreaterThan(0);
  expect(cold).toBeLessThan(raw * 0.35);

  // each encoding as asked, the same file decoded, and the headers caches key on
  const identity = await (await page.request.get(script!, { headers: { "accept-encoding": "identity" } })).text();
  for (const [asked, expected] of [
    ["br", "br"],
    ["gzip", "gzip"],
    ["identity", undefined],
  ] as const) {
    const reply = await page.request.get(wasm!, { headers: { "accept-encoding": asked } });
    expect(reply.status()).toBe(200);
    expect(reply.headers()["content-encoding"]).toBe(expected);
    expect(reply.headers()["content-type"]).toBe("application/wasm");
    // the main module's name is given before the split loader's name is
    // written into its script: not named by its content, so revalidated
    expect(reply.headers()["cache-control"]).toBe("no-cache");
    expect(reply.headers()["vary"]).toBe("accept-encoding");
    // Playwright decodes what it is sent: every encoding is the same script
    const text = await (await page.request.get(script!, { headers: { "accept-encoding": asked } })).text();
    expect(text === identity, `${asked} decodes to the script`).toBe(true);
  }
  // the code of the pages opened less often is split off: none of it came
  const pages = files.filter((file) => /^\/pkg\/split___[a-z_]+_route_view_/.test(file));
  expect(pages, "other pages' code").toEqual([]);
  // every file kept a year is named by the hash of its own bytes
  for (const file of files) {
    const reply = await page.request.get(file, { headers: { "accept-encoding": "identity" } });
    const hash = contentHash(await reply.body());
    const named = file.includes(`.${hash}.`);
    if (/^\/pkg\/(split___|chunk_)/.test(file)) expect(named, `${file} is named by its content`).toBe(true);
    const cache = reply.headers()["cache-control"];
    expect(cache, file).toBe(named ? "public, max-age=31536000, immutable" : "no-cache");
  }

  // a name that is not a file is a plain 404, never cached for a year
  const missing = await page.request.get("/pkg/console.wasm");
  expect(missing.status()).toBe(404);
  expect(missing.headers()["cache-control"] ?? "").not.toContain("immutable");

  // another page, loaded in full, takes the files from the browser's cache
  // (Chromium's own account of each request, through the DevTools protocol)
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Network.enable");
  const asked = new Map<string, string>();
  const cached = new Set<string>();
  cdp.on("Network.requestWillBeSent", (event) => {
    const path = new URL(event.request.url).pathname;
    if (path.startsWith("/pkg/")) asked.set(event.requestId, path);
  });
  cdp.on("Network.requestServedFromCache", (event) => cached.add(event.requestId));
  cdp.on("Network.responseReceived", (event) => {
    if (event.response.fromDiskCache) cached.add(event.requestId);
  });
  const firstPage = new Set(sent.keys());
  await open(page, "/audit");
  const paths = [...asked.values()];
  expect(paths, "the next page uses the same files").toEqual(expect.arrayContaining([wasm!, script!, style!]));
  // the files the first page had come from the cache, but the main script
  // and module (not named by their content: asked for again, no-cache);
  // only the new page's own code is sent
  const again = [...asked.entries()].filter(([id, path]) => !cached.has(id) && firstPage.has(path));
  expect(
    again.map(([, path]) => path).filter((path) => path !== wasm && path !== script),
    "files the server sent again",
  ).toEqual([]);
  // asking again costs a 304 while the module's bytes are unchanged (by
  // their hash, never by date)
  const first = await page.request.get(wasm!);
  const etag = first.headers()["etag"];
  expect(etag, "the module names its bytes").toMatch(/^W\/"[A-Za-z0-9_-]{22}"$/);
  expect(first.headers()["last-modified"]).toBeUndefined();
  const revalidated = await page.request.get(wasm!, { headers: { "if-none-match": etag } });
  expect(revalidated.status()).toBe(304);
  expect(paths.some((path) => path.includes("/split___audit_route_view_")), paths.join(", ")).toBe(true);
  // the new page's chunks are named by their bytes and kept a year
  const chunks = paths.filter((path) => /^\/pkg\/(split___|chunk_)/.test(path));
  expect(chunks.length).toBeGreaterThan(0);
  for (const chunk of chunks) {
    const reply = await page.request.get(chunk, { headers: { "accept-encoding": "identity" } });
    expect(chunk, "a chunk named by its content").toContain(`.${contentHash(await reply.body())}.`);
    expect(reply.headers()["cache-control"], chunk).toBe("public, max-age=31536000, immutable");
  }
});

test("a page whose code is gone says the console stopped and offers a reload", async ({ page }) => {
  await signIn(page);
  await expect(page).toHaveURL(/\/$/);
  await hydrated(page);
  // as after a deploy while the page was open: the Audit page's code of
  // this build is no longer on the server
  await page.route(/\/pkg\/split___audit_route_view_/, (route) => route.fulfill({ status: 404, body: "" }));
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Audit" }).click();
  const notice = page.getByRole("alert").filter({ hasText: "The console stopped" });
  await expect(notice).toBeVisible();
  await expect(notice.getByRole("link", { name: "Reload the page" })).toHaveAttribute("href", /^http:\/\//);
});
