import { expect, test } from "@playwright/test";
import { open, signIn } from "./helpers";

test.beforeEach(async ({ page }) => {
  await signIn(page);
  await expect(page).toHaveURL(/\/$/);
});

test("a permission test suite runs, links its failures to the deciding cell, is saved, and catches a breaking import", async ({
  page,
  request,
}) => {
  await open(page, "/tests");
  const editor = page.getByRole("textbox", { name: "Tests" });
  const example = await editor.inputValue();
  // the example holds against the demo's permissions
  await page.getByRole("button", { name: "Run", exact: true }).click();
  await expect(page.getByTestId("test-summary")).toHaveText("3 passed, 0 failed.");

  // a wrong expectation fails with what the rule answered and why
  await editor.fill(`${example}- name: bob deletes\n  as: { user: bob@example.com }\n  call: orders/deleteOrder\n  expect: allow\n`);
  await page.getByRole("button", { name: "Run", exact: true }).click();
  await expect(page.getByTestId("test-summary")).toHaveText("3 passed, 1 failed.");
  const failure = page.getByTestId("failures").locator("tbody tr");
  await expect(failure).toHaveCount(1);
  await expect(failure).toContainText("bob deletes: user bob@example.com calls orders/deleteOrder: expect allow");
  await expect(failure).toContainText("denied: role `Support` is denied on method `deleteOrder`");
  await failure.getByRole("link", { name: "deciding cell" }).click();
  await expect(page).toHaveURL(/\/services\/orders\/permissions\?method=deleteOrder#role-permissions/);
  await expect(page.locator("table.matrix[data-kind=roles]").getByRole("button", { name: /^Support, deleteOrder: / })).toHaveAttribute(
    "data-state",
    "deny",
  );

  // saved as a suite
  await open(page, "/tests");
  await page.getByRole("textbox", { name: "Suite name" }).fill("orders");
  await page.getByRole("button", { name: "Save" }).click();
  await expect(page.getByTestId("suite-saved")).toHaveText("Saved `orders` (3 tests).");
  await expect(page.locator("tr[data-suite=orders]")).toContainText("3");
  await page.reload();
  await expect(page.locator("tr[data-suite=orders]")).toBeVisible();

  // an import that lifts Support's deny breaks it: the preview says so
  const exported = await (await page.request.get("/console/api/permissions")).json();
  const wanted = structuredClone(exported);
  delete wanted.services.orders.roles.Support;
  await open(page, "/permissions-as-code");
  await page.getByLabel("Document", { exact: true }).fill(JSON.stringify(wanted, null, 2));
  await page.getByRole("button", { name: "Dry run" }).click();
  const tests = page.getByTestId("import-tests");
  await expect(tests).toContainText("This document breaks 1 saved permission test (2 pass):");
  await expect(tests.getByTestId("failures")).toContainText("roles Support calls orders/deleteOrder: expect deny");
  // the API refuses it unless forced; nothing changed
  const refused = await page.request.put("/console/api/permissions", { data: wanted });
  expect(refused.status()).toBe(409);
  expect((await refused.json()).code).toBe(8103);
  const login = await request.post("/api/users/login", { data: { login: "bob@example.com", password: "demo-password" } });
  const bob = { "user-token": (await login.json())["user-token"] };
  expect((await request.delete("/api/services/orders/deleteOrder?orderId=1", { headers: bob })).status()).toBe(403);
  // applied anyway from the console
  await page.getByRole("button", { name: "Apply 1 change anyway, breaking 1 test" }).click();
  await expect(page.getByRole("status")).toHaveText("Applied: 0 added, 0 changed, 1 removed.");
  expect((await request.delete("/api/services/orders/deleteOrder?orderId=1", { headers: bob })).status()).not.toBe(403);

  // back as it was; the suite passes again, then goes
  expect((await page.request.put("/console/api/permissions?force=true", { data: exported })).status()).toBe(200);
  await open(page, "/tests");
  await page.getByRole("button", { name: "Run all saved suites" }).click();
  await expect(page.getByTestId("test-summary")).toHaveText("3 passed, 0 failed.");
  await page.getByRole("button", { name: "Delete orders" }).click();
  await page.getByRole("button", { name: "Delete orders" }).click();
  await expect(page.getByText("No saved suite yet")).toBeVisible();
});

test("what if: any set of roles, with a user, judged on every method without a call", async ({ page }) => {
  await open(page, "/effective");
  const panel = page.locator("section[aria-labelledby=what-if]");
  await panel.getByRole("checkbox", { name: "Support" }).check();
  await panel.getByRole("button", { name: "Show the answers" }).click();
  await expect(page.getByTestId("what-if-subjects")).toHaveText("Subjects: role AuthenticatedUser, role Support");
  const answers = page.getByTestId("what-if");
  await expect(answers.locator("tr[data-method='orders.deleteOrder']")).toContainText("denied: role `Support` is denied on method `deleteOrder`");
  await expect(answers.locator("tr[data-method='orders.getOrders']")).toContainText("allowed");
  // alice (Sales, Managers) as if she also held Support: its deny still wins over Managers' grant
  await panel.getByRole("textbox", { name: "What-if user" }).fill("alice@example.com");
  await panel.getByRole("combobox", { name: "Key role" }).selectOption("RestUser");
  await expect(panel.getByRole("combobox", { name: "Key role" }).locator("option")).toHaveCount(7);
  await panel.getByRole("button", { name: "Show the answers" }).click();
  await expect(page.getByTestId("what-if-subjects")).toHaveText(
    "Subjects: role RestUser, user alice@example.com, role AuthenticatedUser, role Managers, role Sales, role Support",
  );
  await expect(answers.locator("tr[data-method='orders.deleteOrder']")).toContainText("denied: role `Support`");
  // nothing was called or changed: alice's own answer is unchanged
  await page.getByRole("searchbox", { name: "Find a user" }).fill("alice@");
  await page.getByRole("button", { name: /^alice@example\.com/ }).click();
  await expect(page.locator("table.effective").first().locator("tr[data-method='orders.deleteOrder']")).toContainText("allowed");
});
