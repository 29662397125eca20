// Console timings with 10,003 users seeded (scripts/e2e-server.sh), for
// `make bench`: navigation to the Permissions page until its first page of
// rows is interactive, and the round trip of a toggle (click until the
// server has confirmed). Writes its figures to BENCH_OUT_CONSOLE.
import { expect, test } from "@playwright/test";
import { writeFileSync } from "node:fs";
import { hydrated, signIn } from "../tests/helpers";

const NAVIGATIONS = 10;
const TOGGLES = 60; // a multiple of three: the cell ends where it began

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.round((sorted.length - 1) * p))];
}

test("permissions page and toggle timings with 10,000 users", async ({ page }) => {
  test.setTimeout(120_000);
  // the code the browser transfers from a cold start (a new browser
  // context: nothing cached) through signing in to the first interactive
  // Permissions page: every file under /pkg/, as sent (compressed)
  const code = new Map<string, number>();
  let coldDone = false;
  page.on("requestfinished", async (request) => {
    const path = new URL(request.url()).pathname;
    if (coldDone || !path.startsWith("/pkg/")) return;
    const sizes = await request.sizes();
    code.set(path, (code.get(path) ?? 0) + sizes.responseBodySize + sizes.responseHeadersSize);
  });
  await signIn(page);
  await expect(page).toHaveURL(/\/$/);

  const url = "/services/orders/permissions?method=getOrders";
  const rows = page.locator("table.matrix[data-kind=users] tbody tr");
  const navigations: number[] = [];
  for (let run = 0; run < NAVIGATIONS; run++) {
    await page.goto("/services");
    await hydrated(page);
    const started = Date.now();
    await page.goto(url);
    await hydrated(page);
    await expect(rows).toHaveCount(50);
    await expect(rows.first().locator("button[data-state]")).toBeEnabled();
    navigations.push(Date.now() - started);
    coldDone = true;
  }
  await expect(page.getByRole("navigation", { name: "User pages" })).toContainText("of 10,003");

  // timed inside the page: from the click to the confirmed state
  const toggles: number[] = [];
  for (let run = 0; run < TOGGLES; run++) {
    const ms = await page.evaluate(async () => {
      const cell = document.querySelector<HTMLButtonElement>(
        "table.matrix[data-kind=users] tbody tr:first-child button[data-state]",
      );
      if (!cell) throw new Error("no cell");
      const next: Record<string, string> = { inherit: "grant", grant: "deny", deny: "inherit" };
      const expected = next[cell.dataset.state ?? ""];
      const started = performance.now();
      const done = new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("toggle not confirmed")), 10_000);
        const observer = new MutationObserver(() => {
          if (cell.dataset.state === expected && cell.dataset.saving === "false") {
            observer.disconnect();
            clearTimeout(timer);
            resolve();
          }
        });
        observer.observe(cell, { attributes: true });
      });
      cell.click();
      await done;
      return performance.now() - started;
    });
    toggles.push(ms);
  }
  await expect(page.locator(".toast.error, [role=alert].error")).toHaveCount(0);

  const figures = {
    users: 10003,
    navigation_ms: { p50: percentile(navigations, 0.5), p95: percentile(navigations, 0.95), runs: NAVIGATIONS },
    toggle_ms: { p50: percentile(toggles, 0.5), p95: percentile(toggles, 0.95), runs: TOGGLES },
    cold_load: {
      bytes: [...code.values()].reduce((sum, bytes) => sum + bytes, 0),
      files: Object.fromEntries(code),
    },
  };
  console.log(JSON.stringify(figures));
  writeFileSync(process.env.BENCH_OUT_CONSOLE ?? "console-bench.json", JSON.stringify(figures, null, 2));
});
