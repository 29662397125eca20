import { APIRequestContext, expect, Page, test } from "@playwright/test";
import { hydrated, signIn } from "./helpers";

async function open(page: Page, url: string) {
  await page.goto(url);
  await hydrated(page);
}

async function status(request: APIRequestContext, path: string, email?: string) {
  const headers: Record<string, string> = {};
  if (email) {
    const login = await request.post("/api/users/login", { data: { login: email, password: "demo-password" } });
    headers["user-token"] = (await login.json())["user-token"];
  }
  return (await request.get(path, { headers })).status();
}

test.beforeEach(async ({ page }) => {
  await signIn(page);
  await expect(page).toHaveURL(/\/$/);
});

test("effective permissions say why, with links to the deciding cell", async ({ page }) => {
  await open(page, "/effective");
  await page.getByRole("searchbox", { name: "Find a user" }).fill("bob@");
  await page.getByRole("button", { name: /^bob@example\.com/ }).click();
  await expect(page).toHaveURL(/\/effective\?user=bob%40example\.com/);
  await expect(page.getByTestId("effective-heading")).toHaveText("As bob@example.com");
  const deleteOrder = page.locator("tr[data-method='orders.deleteOrder']");
  await expect(deleteOrder).toContainText("denied");
  await expect(deleteOrder).toContainText("denied: role `Support` is denied on method `deleteOrder`");
  await expect(page.locator("tr[data-method='orders.getOrders']")).toContainText("allowed: no deny among 3 subjects");
  await deleteOrder.getByRole("link", { name: "deciding cell" }).click();
  await expect(page).toHaveURL(/\/services\/orders\/permissions\?method=deleteOrder/);
  await expect(page.locator("table.matrix[data-kind=roles]").getByRole("button", { name: /^Support, deleteOrder: / })).toHaveAttribute(
    "data-state",
    "deny",
  );

  await open(page, "/effective");
  await page.getByRole("button", { name: "Not logged in" }).click();
  await expect(page.getByTestId("effective-heading")).toHaveText("Not logged in");
  await expect(page.locator("tr[data-method='orders.getOrders']")).toContainText(
    "denied: role `NotAuthenticatedUser` is denied on All Methods",
  );
  await expect(page.locator("tr[data-method='calculator.add']")).toContainText("allowed: no deny among 1 subject");
});

test("the audit log shows who changed what, filtered and paged", async ({ page }) => {
  await open(page, "/services/calculator/permissions?method=sum");
  const cell = page.locator("table.matrix[data-kind=roles]").getByRole("button", { name: /^Managers, sum: / });
  await cell.click();
  await expect(cell).toHaveAttribute("data-state", "grant");
  await expect(cell).toHaveAttribute("data-saving", "false");

  await open(page, "/audit");
  const first = page.locator("table.audit tbody tr").first();
  await expect(first).toHaveAttribute("data-action", "permission.set");
  await expect(first).toContainText("admin:admin@example.com");
  await expect(first).toContainText("roles:Managers in calculator");
  await expect(first).toContainText('{"sum":"inherit"}');
  await expect(first).toContainText('{"sum":"grant"}');

  await page.getByRole("combobox", { name: "Service" }).selectOption("orders");
  await expect(page.locator("table.audit tbody tr").first()).toContainText("in orders");
  await page.getByRole("searchbox", { name: "Admin" }).fill("admin:nobody@example.com");
  await expect(page.getByText("No audit event matches these filters.")).toBeVisible();
  await page.getByRole("searchbox", { name: "Admin" }).fill("");
  await page.getByRole("combobox", { name: "Service" }).selectOption("");
  await page.getByRole("searchbox", { name: "Subject" }).fill("carol");
  await expect(page.locator("table.audit tbody tr").first()).toContainText("carol@example.com");
  await page.getByLabel("From").fill("2000-01-01");
  await page.getByLabel("To").fill("2000-01-02");
  await expect(page.getByText("No audit event matches these filters.")).toBeVisible();

  // put it back
  await open(page, "/services/calculator/permissions?method=sum");
  await cell.click();
  await cell.click();
  await expect(cell).toHaveAttribute("data-state", "inherit");
  await expect(cell).toHaveAttribute("data-saving", "false");
});

test("import: a dry run shows the diff, apply changes the runtime, a bad document changes nothing", async ({ page, request }) => {
  await open(page, "/permissions-as-code");
  const download = page.waitForEvent("download");
  await page.getByRole("link", { name: "Download permissions.json" }).click();
  const exported = JSON.parse(await (await (await download).createReadStream()).toArray().then((chunks) => Buffer.concat(chunks).toString()));
  expect(exported.services.orders.roles.NotAuthenticatedUser).toEqual({ "*": "deny" });

  // the wanted set: anonymous callers may use orders now, carol may not add
  const wanted = structuredClone(exported);
  delete wanted.services.orders.roles.NotAuthenticatedUser;
  wanted.services.calculator.users = { "alice@example.com": { divide: "deny" } };
  expect(await status(request, "/api/services/orders/getOrders")).toBe(403);

  await page.getByLabel("Document", { exact: true }).fill(JSON.stringify(wanted, null, 2));
  await page.getByRole("button", { name: "Dry run" }).click();
  const diff = page.getByTestId("diff");
  await expect(diff.locator("table[data-kind=added] tbody tr")).toHaveCount(1);
  await expect(diff.locator("table[data-kind=added]")).toContainText("user alice@example.com");
  await expect(diff.locator("table[data-kind=removed] tbody tr")).toHaveCount(1);
  await expect(diff.locator("table[data-kind=removed]")).toContainText("role NotAuthenticatedUser");
  // whose access changes, per method, before anything is applied
  const impact = page.getByTestId("import-impact");
  await expect(impact).toContainText("`divide`: now denied to 1 user who could call it");
  await expect(impact).toContainText("`getOrders`: callers without a user-token are now allowed");
  // a dry run changes nothing
  expect(await status(request, "/api/services/orders/getOrders")).toBe(403);

  await page.getByRole("button", { name: "Apply 2 changes" }).click();
  await expect(page.getByRole("status")).toHaveText("Applied: 1 added, 0 changed, 1 removed.");
  expect(await status(request, "/api/services/orders/getOrders")).toBe(200);
  expect(await status(request, "/api/services/calculator/divide?a=1&b=2", "alice@example.com")).toBe(403);

  // an invalid document is refused with a clear message and changes nothing
  const bad = structuredClone(wanted);
  bad.services.orders.users = { "ghost@example.com": { "*": "deny" } };
  await page.getByLabel("Document", { exact: true }).fill(JSON.stringify(bad));
  await page.getByRole("button", { name: "Dry run" }).click();
  await expect(page.getByTestId("import-error")).toHaveText(
    "the document is refused, nothing was changed: unknown user `ghost@example.com`",
  );
  await page.getByLabel("Document", { exact: true }).fill("{ not json");
  await page.getByRole("button", { name: "Dry run" }).click();
  await expect(page.getByTestId("import-error")).toContainText("not a permission document, nothing was changed");
  expect(await status(request, "/api/services/orders/getOrders")).toBe(200);

  // and back to the exported set, which is one audit event
  await page.getByLabel("Document", { exact: true }).fill(JSON.stringify(exported));
  await page.getByRole("button", { name: "Dry run" }).click();
  await page.getByRole("button", { name: "Apply 2 changes" }).click();
  await expect(page.getByRole("status")).toHaveText("Applied: 1 added, 0 changed, 1 removed.");
  expect(await status(request, "/api/services/orders/getOrders")).toBe(403);
  await open(page, "/audit");
  await expect(page.locator("table.audit tbody tr").first()).toHaveAttribute("data-action", "permission.import");
});

test("bulk edits set a whole row or a whole column after a confirmation", async ({ page, request }) => {
  await open(page, "/services/echo/permissions?method=whoami&view=columns");
  const roles = page.locator("table.matrix[data-kind=roles]");
  await roles.getByRole("combobox", { name: "Set every scope of Sales" }).selectOption("deny");
  await expect(page.getByTestId("bulk-text")).toHaveText(
    "Set every scope of Sales (All Methods and each method) to deny: 3 of 3 cells change.",
  );
  await page.getByRole("button", { name: "Cancel" }).click();
  await expect(roles.getByRole("button", { name: /^Sales, whoami: / })).toHaveAttribute("data-state", "inherit");

  await roles.getByRole("combobox", { name: "Set every scope of Sales" }).selectOption("deny");
  await page.getByRole("button", { name: "Change 3 cells" }).click();
  for (const scope of ["All Methods", "whoami", "echo"]) {
    await expect(roles.getByRole("button", { name: new RegExp(`^Sales, ${scope}: `) })).toHaveAttribute("data-state", "deny");
  }
  expect(await status(request, "/api/services/echo/whoami", "alice@example.com")).toBe(403);
  await page.reload();
  await hydrated(page);
  await expect(roles.getByRole("button", { name: /^Sales, echo: / })).toHaveAttribute("data-state", "deny");

  // a column: every listed user's whoami
  await page.getByRole("searchbox", { name: "Search users" }).fill("@example.com");
  const users = page.locator("table.matrix[data-kind=users]");
  await users.getByRole("combobox", { name: "Set the whoami column" }).selectOption("grant");
  await expect(page.getByTestId("bulk-text")).toHaveText(/^Set whoami for all 50 listed users to grant: 50 of 50 cells change\.$/);
  await page.getByRole("button", { name: "Cancel" }).click();

  await roles.getByRole("combobox", { name: "Set every scope of Sales" }).selectOption("inherit");
  await page.getByRole("button", { name: "Change 3 cells" }).click();
  await expect(roles.getByRole("button", { name: /^Sales, echo: / })).toHaveAttribute("data-state", "inherit");
  expect(await status(request, "/api/services/echo/whoami", "alice@example.com")).toBe(200);
});
