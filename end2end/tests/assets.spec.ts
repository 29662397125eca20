import { expect, test } from "@playwright/test";
import { hydrated, open, signIn } from "./helpers";

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
    expect(reply.headers()["cache-control"]).toBe("public, max-age=31536000, immutable");
    expect(reply.headers()["vary"]).toBe("accept-encoding");
    // Playwright decodes what it is sent: every encoding is the same script
    const text = await (await page.request.get(script!, { headers: { "accept-encoding": asked } })).text();
    expect(text === identity, `${asked} decodes to the script`).toBe(true);
  }
  // the code is split by page: the first page's own chunk came, no other page's
  const pages = files.filter((file) => /^\/pkg\/split___[a-z_]+_route_view_/.test(file));
  expect(pages.some((file) => file.includes("/split___services_route_view_")), files.join(", ")).toBe(true);
  expect(pages.filter((file) => !file.includes("/split___services_route_view_")), "other pages' code").toEqual([]);
  for (const file of files.filter((file) => /^\/pkg\/(split___|chunk_)/.test(file))) {
    expect(file, "a chunk named by its content").toMatch(/\.[A-Za-z0-9_-]{20,}\.wasm$/);
    expect(sent.get(file)!.status, file).toBe(200);
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
  await open(page, "/users");
  const paths = [...asked.values()];
  expect(paths, "the next page uses the same files").toEqual(expect.arrayContaining([wasm!, script!, style!]));
  // the files the first page had come from the cache; only the new page's
  // own code is fetched
  const fromServer = [...asked.entries()].filter(([id]) => !cached.has(id)).map(([, path]) => path);
  expect(fromServer.filter((path) => firstPage.has(path)), "files the server sent again").toEqual([]);
  expect(paths.some((path) => path.includes("/split___users_route_view_")), paths.join(", ")).toBe(true);
});
