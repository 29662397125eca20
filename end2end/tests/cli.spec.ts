import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, test } from "@playwright/test";
import { signIn } from "./helpers";

/** The built binary, as the README's set-up leaves it. */
const binary = join(process.env.CARGO_TARGET_DIR ?? join(__dirname, "..", "..", "target"), "release", "console-cli");

test("the command-line client exports, diffs, applies, and fails a CI job on a broken permission test", async ({ page, baseURL }) => {
  await signIn(page);
  await expect(page).toHaveURL(/\/$/);
  const made = await page.request.post("/console/api/keys", { data: { name: `cli-${Date.now()}` } });
  expect(made.status()).toBe(200);
  const key: string = (await made.json()).key;
  const dir = mkdtempSync(join(tmpdir(), "console-cli-"));
  const cli = (...args: string[]) => {
    const run = spawnSync(binary, args, {
      env: { ...process.env, CONSOLE_URL: baseURL ?? "", CONSOLE_KEY: key },
      encoding: "utf8",
      timeout: 20_000,
    });
    return { status: run.status, out: run.stdout, err: run.stderr };
  };

  // export: the same document as the admin API
  const exported = cli("export", "-o", join(dir, "permissions.json"));
  expect(exported.status, exported.err).toBe(0);
  const document = JSON.parse(readFileSync(join(dir, "permissions.json"), "utf8"));
  expect(document).toEqual(await (await page.request.get("/console/api/permissions")).json());

  // tests that hold: exit status 0
  writeFileSync(
    join(dir, "ok.yaml"),
    [
      "- as: { anonymous: true }",
      "  call: orders/getOrders",
      "  expect: deny",
      "  by: { role: NotAuthenticatedUser }",
      "- as: { user: alice@example.com }",
      "  call: orders/deleteOrder",
      "  expect: allow",
      "",
    ].join("\n"),
  );
  const passing = cli("test", join(dir, "ok.yaml"));
  expect(passing.status, passing.err).toBe(0);
  expect(passing.out.trim()).toBe("2 passed, 0 failed");

  // a broken expectation: exit status 1, a line a CI log shows as it is
  writeFileSync(
    join(dir, "broken.json"),
    JSON.stringify({ tests: [{ name: "support deletes", as: { roles: ["Support"] }, call: "orders/deleteOrder", expect: "allow" }] }),
  );
  const failing = cli("test", join(dir, "broken.json"));
  expect(failing.status).toBe(1);
  expect(failing.out).toContain(
    "FAIL support deletes: roles Support calls orders/deleteOrder: expect allow: got deny: denied: role `Support` is denied on method `deleteOrder` (cell: role Support on deleteOrder)",
  );
  expect(failing.out.trim().endsWith("0 passed, 1 failed")).toBe(true);

  // diff and apply a document without Support's deny
  const wanted = structuredClone(document);
  delete wanted.services.orders.roles.Support;
  writeFileSync(join(dir, "wanted.json"), JSON.stringify(wanted));
  const diff = cli("diff", join(dir, "wanted.json"));
  expect(diff.status, diff.err).toBe(0);
  expect(diff.out).toContain("1 cell change: 0 added, 0 changed, 1 removed");
  expect(diff.out).toContain("- orders role Support deleteOrder: deny -> inherit");
  expect(diff.out).toContain("  orders/deleteOrder: 1 user gains access");
  const asJson = cli("diff", join(dir, "wanted.json"), "--json");
  expect(JSON.parse(asJson.out).removed).toHaveLength(1);
  const dry = cli("apply", join(dir, "wanted.json"), "--dry-run");
  expect(dry.out).toContain("dry run: nothing was changed");
  // the same tests against the proposed document pass
  expect(cli("test", join(dir, "broken.json"), "--document", join(dir, "wanted.json")).status).toBe(0);
  expect(cli("test", join(dir, "broken.json")).status).toBe(1);
  const applied = cli("apply", join(dir, "wanted.json"));
  expect(applied.status, applied.err).toBe(0);
  expect(applied.out).toContain("applied");
  expect(cli("test", join(dir, "broken.json")).status).toBe(0);
  // back as it was
  const restored = cli("apply", join(dir, "permissions.json"));
  expect(restored.status, restored.err).toBe(0);
  expect(await (await page.request.get("/console/api/permissions")).json()).toEqual(document);

  // what cannot run says why, with exit status 2
  const wrongKey = spawnSync(binary, ["export"], {
    env: { ...process.env, CONSOLE_URL: baseURL ?? "", CONSOLE_KEY: "not-a-key" },
    encoding: "utf8",
  });
  expect(wrongKey.status).toBe(2);
  expect(wrongKey.stderr).toContain("the console refused it: 401");
  const missing = cli("test", join(dir, "nothing.yaml"));
  expect(missing.status).toBe(2);
  expect(missing.err).toContain("cannot read");
  writeFileSync(join(dir, "empty.yaml"), "tests: []\n");
  const empty = cli("test", join(dir, "empty.yaml"));
  expect(empty.status).toBe(2);
  expect(empty.err).toContain("holds no tests");
  writeFileSync(join(dir, "bad.json"), JSON.stringify({ services: { nothing: {} } }));
  const refused = cli("apply", join(dir, "bad.json"));
  expect(refused.status).toBe(2);
  expect(refused.err).toContain("the console refused it: 400 (8105)");
  // a subject named twice is refused before anything is sent, as the API refuses it (never the last one kept)
  writeFileSync(
    join(dir, "twice.json"),
    '{"services":{"orders":{"roles":{"Support":{"deleteOrder":"deny"},"Support":{"deleteOrder":"grant"}},"users":{}}}}',
  );
  const twice = cli("apply", join(dir, "twice.json"));
  expect(twice.status).toBe(2);
  expect(twice.err).toContain("named twice");
  writeFileSync(
    join(dir, "twice.yaml"),
    "services:\n  orders:\n    roles:\n      Support: {deleteOrder: deny}\n      Support: {deleteOrder: grant}\n    users: {}\n",
  );
  const twiceYaml = cli("apply", join(dir, "twice.yaml"));
  expect(twiceYaml.status).toBe(2);
  expect(await (await page.request.get("/console/api/permissions")).json()).toEqual(document);
  // without saved suites and without a file, nothing is checked: a CI job must not pass on that
  const nothing = cli("test");
  expect(nothing.status).toBe(1);
  expect(nothing.out).toContain("no test ran");
});
