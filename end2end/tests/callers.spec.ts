import { expect, test } from "@playwright/test";
import { open, ruleAnswers, ruleCounts, signIn, thousands } from "./helpers";

test.beforeEach(async ({ page }) => {
  await signIn(page);
  await expect(page).toHaveURL(/\/$/);
});

const cell = (service: string, kind: string, subject: string, method: string) =>
  `/console/api/services/${service}/permissions/${kind}/${encodeURIComponent(subject)}/${method}`;

test("who can call: counts over 10,000 users agree with the rule, users are searched and paged, rows link to the deciding cell", async ({
  page,
}) => {
  // one load user denied on deleteOrder by their own cell, beside Support's Deny
  const loadUser = (await (await page.request.get("/console/api/users?search=load-&limit=1")).json()).items[0].email;
  expect((await page.request.put(cell("orders", "users", loadUser, "deleteOrder"), { data: { effect: "deny" } })).status()).toBe(200);
  try {
    const answers = await ruleAnswers(page, "orders", "deleteOrder");
    expect(answers.size).toBeGreaterThan(10_000);
    const { allowed, denied } = await ruleCounts(page, "orders", "deleteOrder");
    await open(page, "/services/orders/permissions?method=deleteOrder");
    await page.getByRole("link", { name: "Who can call" }).click();
    await expect(page).toHaveURL(/\/services\/orders\/callers\?method=deleteOrder/);
    const summary = page.getByTestId("callers-summary");
    await expect(summary).toContainText(`${thousands(allowed)} users may call, ${thousands(denied)} may not:`);
    await expect(summary).toContainText("1 through role `Support` (`deleteOrder`)");
    await expect(summary).toContainText(`1 by their own Deny (${loadUser}, \`deleteOrder\`)`);
    // the roles' own answers
    await expect(page.locator("tr[data-role=Support]")).toContainText("denied: role `Support` is denied on method `deleteOrder`");
    await expect(page.locator("tr[data-role=Managers]")).toContainText("may call");
    await expect(page.locator("tr[data-role=NotAuthenticatedUser]")).toContainText("is denied on All Methods");
    // every user, paged
    await expect(page.getByRole("navigation", { name: "User pages" })).toContainText(`1–50 of ${thousands(answers.size)}`);
    // only those who may not: each agrees with the rule
    await page.getByRole("combobox", { name: "Answer" }).selectOption("deny");
    await expect(page.getByRole("navigation", { name: "User pages" })).toContainText(`of ${thousands(denied)}`);
    const deniedRows = page.locator("[data-testid=callers-users] tbody tr");
    await expect(deniedRows).toHaveCount(denied);
    for (const email of await deniedRows.evaluateAll((rows) => rows.map((row) => row.getAttribute("data-user") ?? ""))) {
      expect(answers.get(email), email).toBe(false);
    }
    // search, then follow the row to the cell that decides it
    await page.getByRole("searchbox", { name: "Search users" }).fill(loadUser.toUpperCase());
    const row = page.locator(`tr[data-user='${loadUser}']`);
    await expect(row).toContainText(`denied: user \`${loadUser}\` is denied on method \`deleteOrder\``);
    await expect(deniedRows).toHaveCount(1);
    await row.getByRole("link", { name: "deciding cell" }).click();
    await expect(page).toHaveURL(/\/services\/orders\/permissions\?method=deleteOrder&q=/);
    await expect(
      page.locator("table.matrix[data-kind=users]").getByRole("button", { name: new RegExp(`^${loadUser}, deleteOrder: `) }),
    ).toHaveAttribute("data-state", "deny");

    // All Methods, after a reload of the page with its address
    await open(page, "/services/orders/callers?method=*");
    const all = await ruleCounts(page, "orders", "*");
    await expect(summary).toContainText(`${thousands(all.allowed)} users may call`);
  } finally {
    await page.request.put(cell("orders", "users", loadUser, "deleteOrder"), { data: { effect: "inherit" } });
  }
});

test("a toggle's notice counts the users it changed, and Undo restores the cell", async ({ page }) => {
  await open(page, "/services/orders/permissions?method=getOrders");
  const roles = page.locator("table.matrix[data-kind=roles]");
  const authenticated = roles.getByRole("button", { name: /^AuthenticatedUser, getOrders: / });
  await expect(authenticated).toHaveAttribute("data-state", "inherit");
  const before = await ruleCounts(page, "orders", "getOrders");
  expect(before.allowed).toBeGreaterThan(10_000);

  // Inherit -> Grant changes nobody's answer
  await authenticated.click();
  const notice = page.getByTestId("impact-notice");
  await expect(notice).toContainText("AuthenticatedUser, getOrders: inherit → grant.");
  await expect(notice).toContainText("No enabled user's, anonymous caller's or API key's answer changed.");
  // Grant -> Deny: every user who could call loses it
  await authenticated.click();
  await expect(authenticated).toHaveAttribute("data-state", "deny");
  await expect(notice).toContainText("AuthenticatedUser, getOrders: grant → deny.");
  const after = await ruleCounts(page, "orders", "getOrders");
  expect(after.allowed).toBe(0);
  await expect(notice).toContainText(`\`getOrders\`: now denied to ${thousands(before.allowed - after.allowed)} users who could call it`);
  expect((await page.request.get("/api/services/orders/getOrders", { headers: await token(page, "alice@example.com") })).status()).toBe(403);

  // Undo: the cell is Grant again, everyone's answer is back, and it stays after a reload
  await notice.getByRole("button", { name: "Undo" }).click();
  await expect(notice).toContainText("Undone: AuthenticatedUser, getOrders is grant again.");
  await expect(notice).toContainText(`now allowed for ${thousands(before.allowed)} users who could not call it`);
  await expect(authenticated).toHaveAttribute("data-state", "grant");
  expect(await ruleCounts(page, "orders", "getOrders")).toEqual(before);
  expect((await page.request.get("/api/services/orders/getOrders", { headers: await token(page, "alice@example.com") })).status()).toBe(200);
  await page.reload();
  await expect(roles.getByRole("button", { name: /^AuthenticatedUser, getOrders: / })).toHaveAttribute("data-state", "grant");

  // a bulk edit says whose access it would change before it is applied
  await open(page, "/services/orders/permissions?method=getOrders&view=columns");
  await roles.getByRole("combobox", { name: "Set every scope of Sales" }).selectOption("deny");
  await expect(page.getByTestId("bulk-impact")).toContainText("`getOrders`: now denied to 1 user who could call it");
  await page.getByRole("button", { name: "Cancel" }).click();
  expect((await page.request.put(cell("orders", "roles", "AuthenticatedUser", "getOrders"), { data: { effect: "inherit" } })).status()).toBe(200);
});

async function token(page: import("@playwright/test").Page, email: string) {
  const login = await page.request.post("/api/users/login", { data: { login: email, password: "demo-password" } });
  return { "user-token": (await login.json())["user-token"] as string };
}
