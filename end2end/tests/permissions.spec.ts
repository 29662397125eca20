import { APIRequestContext, expect, Locator, Page, test } from "@playwright/test";
import { hydrated, signIn } from "./helpers";

const PASSWORD = "demo-password";

async function userToken(request: APIRequestContext, email: string): Promise<string> {
  const response = await request.post("/api/users/login", { data: { login: email, password: PASSWORD } });
  expect(response.status()).toBe(200);
  return (await response.json())["user-token"];
}

/** What the runtime answers this user (or anonymous) for a GET method. */
async function runtime(request: APIRequestContext, path: string, token?: string) {
  const response = await request.get(path, { headers: token ? { "user-token": token } : {} });
  return { status: response.status(), body: await response.json() };
}

async function open(page: Page, url: string) {
  await page.goto(url);
  await hydrated(page);
}

/** Clicks a cell and waits until the server has confirmed the new state. */
async function cycle(cell: Locator, expected: string) {
  await cell.click();
  await expect(cell).toHaveAttribute("data-state", expected);
  await expect(cell).toHaveAttribute("data-saving", "false");
}

test.beforeEach(async ({ page }) => {
  await signIn(page);
  await expect(page).toHaveURL(/\/$/);
});

test("a user cell cycles through all three states, persists and is enforced", async ({ page, request }) => {
  const token = await userToken(request, "carol@example.com");
  const add = "/api/services/calculator/add?a=1&b=2";
  await open(page, "/services/calculator/permissions?method=add&q=carol");
  await expect(page.getByRole("combobox", { name: "Method" })).toHaveValue("add");
  const cell = page.getByRole("button", { name: /^carol@example\.com, add: / });
  await expect(cell).toHaveAttribute("data-state", "inherit");
  await expect(cell).toHaveAccessibleName("carol@example.com, add: inherit");
  expect((await runtime(request, add, token)).status).toBe(200);

  await cycle(cell, "grant");
  await expect(cell).toHaveAccessibleName("carol@example.com, add: grant");
  expect((await runtime(request, add, token)).status).toBe(200);

  await cycle(cell, "deny");
  const denied = await runtime(request, add, token);
  expect(denied.status).toBe(403);
  expect(denied.body.deniedBy).toEqual({ kind: "user", name: "carol@example.com", scope: "add" });
  // other users are not affected
  expect((await runtime(request, add, await userToken(request, "bob@example.com"))).status).toBe(200);

  await page.reload();
  await hydrated(page);
  await expect(cell).toHaveAttribute("data-state", "deny");

  await cycle(cell, "inherit");
  expect((await runtime(request, add, token)).status).toBe(200);
  await page.reload();
  await hydrated(page);
  await expect(cell).toHaveAttribute("data-state", "inherit");
});

test("a role cell cycles through all three states, persists and is enforced", async ({ page, request }) => {
  const alice = await userToken(request, "alice@example.com"); // Sales, Managers
  const divide = "/api/services/calculator/divide?a=1&b=4";
  await open(page, "/services/calculator/permissions?method=divide");
  const roles = page.locator("table.matrix[data-kind=roles]");
  await expect(roles.locator("tbody tr").first()).toHaveAttribute("data-subject", "AuthenticatedUser");
  const cell = roles.getByRole("button", { name: /^Sales, divide: / });

  await cycle(cell, "grant");
  expect((await runtime(request, divide, alice)).status).toBe(200);
  await cycle(cell, "deny");
  const denied = await runtime(request, divide, alice);
  expect(denied.status).toBe(403);
  expect(denied.body.deniedBy).toEqual({ kind: "role", name: "Sales", scope: "divide" });
  await page.reload();
  await hydrated(page);
  await expect(cell).toHaveAttribute("data-state", "deny");
  await cycle(cell, "inherit");
  expect((await runtime(request, divide, alice)).status).toBe(200);

  // All Methods: a deny there shows on the method's Inherit cell as a hint
  await open(page, "/services/calculator/permissions?method=divide&view=columns");
  const all = roles.getByRole("button", { name: /^Sales, All Methods: / });
  await cycle(all, "grant");
  await cycle(all, "deny");
  await expect(roles.getByRole("button", { name: /^Sales, divide: / })).toHaveAccessibleName(
    "Sales, divide: inherit (All Methods: deny)",
  );
  expect((await runtime(request, divide, alice)).status).toBe(403);
  await cycle(all, "inherit");
  expect((await runtime(request, divide, alice)).status).toBe(200);
});

test("the matrix works with the keyboard alone", async ({ page, request }) => {
  const token = await userToken(request, "bob@example.com");
  const sum = "/api/services/calculator/sum";
  await open(page, "/services/calculator/permissions?method=sum&q=bob");
  const name = /^bob@example\.com, sum: /;
  // Tab from the top of the page to bob's cell
  let found = false;
  for (let i = 0; i < 60 && !found; i++) {
    await page.keyboard.press("Tab");
    found = await page.evaluate(
      () => document.activeElement?.getAttribute("aria-label")?.startsWith("bob@example.com, sum: ") ?? false,
    );
  }
  expect(found).toBe(true);
  const cell = page.getByRole("button", { name });
  await expect(cell).toBeFocused();
  await page.keyboard.press("Enter");
  await expect(cell).toHaveAttribute("data-state", "grant");
  await page.keyboard.press("Space");
  await expect(cell).toHaveAttribute("data-state", "deny");
  await expect(cell).toHaveAttribute("data-saving", "false");
  const denied = await request.post(sum, { headers: { "user-token": token }, data: { numbers: [1, 2] } });
  expect(denied.status()).toBe(403);
  await page.keyboard.press("Enter");
  await expect(cell).toHaveAttribute("data-state", "inherit");
  await expect(cell).toHaveAttribute("data-saving", "false");
  const allowed = await request.post(sum, { headers: { "user-token": token }, data: { numbers: [1, 2] } });
  expect(allowed.status()).toBe(200);
  await expect(cell).toBeFocused();
});

test("search finds one user among 10,000 and pages through them", async ({ page }) => {
  const started = Date.now();
  await open(page, "/services/orders/permissions?method=getOrders");
  const rows = page.locator("table.matrix[data-kind=users] tbody tr");
  await expect(rows).toHaveCount(50);
  console.log(`permissions page with 10,003 users: first page interactive after ${Date.now() - started} ms`);
  await expect(page.getByRole("navigation", { name: "User pages" })).toContainText("1–50 of 10,003");

  await page.getByRole("searchbox", { name: "Search users" }).fill("load-07777");
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toHaveAttribute("data-subject", "load-07777@example.com");
  await expect(page).toHaveURL(/q=load-07777/);
  // the search survives a reload
  await page.reload();
  await hydrated(page);
  await expect(rows).toHaveCount(1);

  await page.getByRole("searchbox", { name: "Search users" }).fill("Load User 0999");
  await expect(rows).toHaveCount(10);
  await page.getByRole("searchbox", { name: "Search users" }).fill("");
  await page.getByRole("button", { name: "Next ›" }).click();
  await expect(page.getByRole("navigation", { name: "User pages" })).toContainText("51–100 of 10,003");
  await expect(page).toHaveURL(/offset=50/);
});

test("a new user given a role shows in both matrices", async ({ page, request }) => {
  await open(page, "/roles");
  await page.getByLabel("New role").fill("Auditors");
  await page.getByRole("button", { name: "Create role" }).click();
  await expect(page.locator("tr[data-role=Auditors]")).toBeVisible();

  await open(page, "/users");
  await page.getByText("Create a user").click();
  await page.getByLabel("Email").fill("dora@example.com");
  await page.getByLabel("Name", { exact: true }).fill("Dora Diaz");
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Create user" }).click();
  await expect(page.getByRole("status")).toContainText("Created dora@example.com");
  await page.getByRole("searchbox", { name: "Search users" }).fill("dora");
  const row = page.locator("tr[data-email='dora@example.com']");
  await expect(row).toBeVisible();
  await row.getByRole("combobox", { name: "Add a role to dora@example.com" }).selectOption("Auditors");
  await expect(row.locator(".chip")).toHaveText(/Auditors/);

  await open(page, "/services/orders/permissions?method=getOrders&q=dora");
  await expect(page.locator("table.matrix[data-kind=users] tbody tr")).toHaveCount(1);
  const roleCell = page.locator("table.matrix[data-kind=roles]").getByRole("button", { name: /^Auditors, getOrders: / });
  await cycle(roleCell, "grant");
  await cycle(roleCell, "deny");
  const dora = await userToken(request, "dora@example.com");
  const denied = await runtime(request, "/api/services/orders/getOrders", dora);
  expect(denied.body.deniedBy).toEqual({ kind: "role", name: "Auditors", scope: "getOrders" });
});

test("services are listed with their methods and searchable", async ({ page }) => {
  await open(page, "/services");
  for (const service of ["orders", "calculator", "echo"]) {
    await expect(page.locator(`section[data-service=${service}]`)).toBeVisible();
  }
  await expect(page.locator("section[data-service=orders]")).toContainText("deleteOrder");
  await expect(page.locator("section[data-service=orders]")).toContainText("DELETE");
  // the demo's HTTP service, with its routes
  await expect(page.locator("section[data-service=petstore]")).toContainText("/pets/{petId}");
  await page.getByRole("searchbox", { name: "Search services and methods" }).fill("divide");
  await expect(page.locator("section[data-service]")).toHaveCount(1);
  await expect(page.locator("section[data-service=calculator]")).toBeVisible();
  await page.getByRole("searchbox", { name: "Search services and methods" }).fill("nothing-like-this");
  await expect(page.getByText("No service or method matches")).toBeVisible();
  await page.getByRole("searchbox", { name: "Search services and methods" }).fill("");
  await page.locator("section[data-service=calculator]").getByRole("link", { name: "Permissions" }).first().click();
  await expect(page).toHaveURL(/\/services\/calculator\/permissions\?method=%2A|\/services\/calculator\/permissions\?method=\*/);
  await expect(page.getByRole("heading", { name: "User Permissions" })).toBeVisible();
});

test("a time-limited cell says its end and time left, counts down and turns to Inherit when it ends", async ({ page }) => {
  const role = `Interim-${Date.now()}`;
  expect((await page.request.post("/console/api/roles", { data: { name: role } })).status()).toBe(200);
  const cellPath = (method: string) => `/console/api/services/echo/permissions/roles/${role}/${method}`;
  const soon = new Date(Date.now() + 8_000);
  const later = new Date(Date.now() + 2 * 3_600_000 + 120_000);
  const set = async (method: string, effect: string, until: Date) => {
    const reply = await page.request.put(cellPath(method), { data: { effect, until: until.toISOString() } });
    expect(reply.status()).toBe(200);
    expect((await reply.json()).until).toBe(until.toISOString());
  };
  try {
    await set("whoami", "deny", soon);
    await set("*", "grant", later);
    await open(page, "/services/echo/permissions?method=whoami&view=columns");
    const roles = page.locator("table.matrix[data-kind=roles]");
    const deny = roles.getByRole("button", { name: new RegExp(`^${role}, whoami: `) });
    await expect(deny).toHaveAttribute("data-state", "deny");
    await expect(deny).toHaveAccessibleName(new RegExp(`^${role}, whoami: deny until \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d UTC \\([1-8] s left\\)$`));
    await expect(deny).toHaveAttribute("title", /^Deny until .* UTC \([1-8] s left\), then Inherit\./);
    const all = roles.getByRole("button", { name: new RegExp(`^${role}, All Methods: `) });
    await expect(all).toHaveAccessibleName(new RegExp(`^${role}, All Methods: grant until .* \\(2 h [12] min left\\)$`));
    // it counts down, and at its end the cell is Inherit (All Methods' Grant shows through)
    await expect(deny).toHaveAccessibleName(/\([1-6] s left\)$/, { timeout: 5_000 });
    await expect(deny).toHaveAttribute("data-state", "inherit", { timeout: 12_000 });
    await expect(deny).toHaveAccessibleName(`${role}, whoami: inherit (All Methods: grant)`);
    // so does the server, after a reload
    await page.reload();
    await hydrated(page);
    await expect(deny).toHaveAttribute("data-state", "inherit");
    const exported = await (await page.request.get("/console/api/permissions")).json();
    expect(exported.services.echo.roles[role]).toEqual({ "*": { effect: "grant", until: later.toISOString() } });
    // the server's expirer deleted the row and recorded it, as the system
    const expiries = async () => {
      const audit = await (await page.request.get(`/console/api/audit?actor=system&target=roles:${role}`)).json();
      return audit.items.filter((item: { action: string }) => item.action === "permission.expire").length;
    };
    await expect.poll(expiries, { timeout: 5_000 }).toBe(1);
    // a click sets the next state without an end
    await cycle(all, "deny");
    await expect(all).toHaveAccessibleName(`${role}, All Methods: deny`);
    const after = await (await page.request.get("/console/api/permissions")).json();
    expect(after.services.echo.roles[role]).toEqual({ "*": "deny" });

    // unless the page's end for clicks is set: then a Grant or Deny set by a click ends then
    const day = new Date(Date.now() + 3 * 86_400_000);
    const two = (n: number) => String(n).padStart(2, "0");
    const local = `${day.getFullYear()}-${two(day.getMonth() + 1)}-${two(day.getDate())}T10:30`;
    const end = new Date(day.getFullYear(), day.getMonth(), day.getDate(), 10, 30).toISOString();
    await page.getByLabel("End of clicked grants and denies").fill(local);
    await expect(page.getByTestId("click-end")).toContainText("Grants and denies set by a click end at");
    const echo = roles.getByRole("button", { name: new RegExp(`^${role}, echo: `) });
    await cycle(echo, "grant");
    await expect(echo).toHaveAccessibleName(new RegExp(`^${role}, echo: grant until .* \\([23] d( \\d+ h)? left\\)$`));
    const timed = await (await page.request.get("/console/api/permissions")).json();
    expect(timed.services.echo.roles[role].echo).toEqual({ effect: "grant", until: end });
    // a click to Inherit carries no end; "No end" turns it off
    await cycle(echo, "deny");
    await cycle(echo, "inherit");
    await expect(echo).toHaveAccessibleName(`${role}, echo: inherit (All Methods: deny)`);
    await page.getByRole("button", { name: "No end" }).click();
    await cycle(echo, "grant");
    await expect(echo).toHaveAccessibleName(`${role}, echo: grant`);
  } finally {
    await page.request.delete(`/console/api/roles/${role}`);
  }
});
