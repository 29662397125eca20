import { expect, Page, test } from "@playwright/test";
import { hydrated, signIn } from "./helpers";

async function open(page: Page, url: string) {
  await page.goto(url);
  await hydrated(page);
}

async function logInOnHeaders(page: Page, email: string, password: string) {
  await page.getByRole("tab", { name: "HEADERS" }).click();
  await page.getByLabel("Login").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
}

async function invoke(page: Page) {
  const before = await page.getByTestId("time").count();
  await page.getByRole("button", { name: "Invoke" }).click();
  await expect(page.getByRole("button", { name: "Invoke" })).toBeEnabled();
  if (before === 0) await expect(page.getByTestId("status")).toBeVisible();
}

test.beforeEach(async ({ page }) => {
  await signIn(page);
  await expect(page).toHaveURL(/\/$/);
});

test("invoke as a logged-in user, deny in the matrix, then anonymously", async ({ page, request }) => {
  await open(page, "/services/echo/methods/whoami");
  await expect(page.getByTestId("caller")).toHaveText("Calling anonymously (NotAuthenticatedUser)");
  await logInOnHeaders(page, "alice@example.com", "demo-password");
  await expect(page.getByTestId("test-user")).toHaveText("alice@example.com");
  await expect(page.getByTestId("user-token")).not.toBeEmpty();
  await expect(page.getByTestId("caller")).toHaveText("Calling as alice@example.com");

  await invoke(page);
  await expect(page.getByTestId("status")).toHaveText("200 OK");
  await expect(page.getByTestId("response-body")).toContainText('"email": "alice@example.com"');
  await expect(page.getByTestId("response-body")).toContainText('"Sales"');
  const token = await page.getByTestId("user-token").textContent();
  await expect(page.getByTestId("curl")).toHaveText(
    `curl -X GET 'http://127.0.0.1:3210/api/services/echo/whoami' -H 'user-token: ${token}'`,
  );

  // deny alice's whoami in the matrix
  await open(page, "/services/echo/permissions?method=whoami&q=alice");
  const cell = page.getByRole("button", { name: /^alice@example\.com, whoami: / });
  await cell.click();
  await expect(cell).toHaveAttribute("data-state", "grant");
  await cell.click();
  await expect(cell).toHaveAttribute("data-state", "deny");
  await expect(cell).toHaveAttribute("data-saving", "false");

  // the token came along: the same user is denied now, with the reason
  await open(page, "/services/echo/methods/whoami");
  await expect(page.getByTestId("caller")).toHaveText("Calling as alice@example.com");
  await invoke(page);
  await expect(page.getByTestId("status")).toHaveText("403 Forbidden");
  const denied = page.locator(".denied");
  await expect(denied).toContainText("The user alice@example.com is denied the method whoami.");
  await denied.getByRole("link", { name: "Open this cell in the permission matrix" }).click();
  await expect(page).toHaveURL(/\/services\/echo\/permissions\?method=whoami&q=alice%40example\.com/);
  await expect(page.getByRole("button", { name: /^alice@example\.com, whoami: / })).toHaveAttribute("data-state", "deny");

  // log out: anonymous calls hold NotAuthenticatedUser, which orders denies in the demo
  await open(page, "/services/orders/methods/getOrders");
  await page.getByRole("tab", { name: "HEADERS" }).click();
  await page.getByRole("button", { name: "Log out" }).click();
  await expect(page.getByTestId("caller")).toHaveText("Calling anonymously (NotAuthenticatedUser)");
  expect(await request.get(`/api/users/isvalidusertoken/${token}`).then((r) => r.json())).toBe(false);
  await invoke(page);
  await expect(page.getByTestId("status")).toHaveText("403 Forbidden");
  await expect(page.locator(".denied")).toContainText(
    "The role NotAuthenticatedUser, which the caller holds, is denied All Methods of this service.",
  );
  await expect(page.getByTestId("curl")).not.toContainText("user-token");

  // put alice back
  await open(page, "/services/echo/permissions?method=whoami&q=alice");
  await page.getByRole("button", { name: /^alice@example\.com, whoami: / }).click();
  await expect(page.getByRole("button", { name: /^alice@example\.com, whoami: / })).toHaveAttribute("data-state", "inherit");
});

test("a wrong password shows the login error", async ({ page }) => {
  await open(page, "/services/echo/methods/whoami");
  await logInOnHeaders(page, "alice@example.com", "not-her-password");
  await expect(page.getByRole("alert")).toHaveText("invalid login or password (code 3003)");
  await expect(page.getByTestId("caller")).toHaveText("Calling anonymously (NotAuthenticatedUser)");
});

test("the token survives a reload, and a dead token is reported", async ({ page, request }) => {
  await open(page, "/services/calculator/methods/add");
  await logInOnHeaders(page, "bob@example.com", "demo-password");
  await expect(page.getByTestId("test-user")).toHaveText("bob@example.com");
  const token = (await page.getByTestId("user-token").textContent()) ?? "";
  await page.reload();
  await hydrated(page);
  await expect(page.getByTestId("caller")).toHaveText("Calling as bob@example.com");

  // GET parameters are sent as the query string
  await page.getByRole("tab", { name: "PARAMETERS" }).click();
  await page.getByLabel("Parameter 1 value").fill("40");
  await invoke(page);
  await expect(page.getByTestId("status")).toHaveText("200 OK");
  await expect(page.getByTestId("response-body")).toContainText('"result": 42.0');

  // the token dies elsewhere: the page says so instead of failing silently
  expect((await request.get("/api/users/logout", { headers: { "user-token": token } })).status()).toBe(200);
  await invoke(page);
  await expect(page.getByRole("alert").first()).toContainText("The user token of bob@example.com is no longer valid");
  await expect(page.getByTestId("caller")).toHaveText("Calling anonymously (NotAuthenticatedUser)");
});

test("the body is validated and can be reset to the example", async ({ page }) => {
  await open(page, "/services/calculator/methods/sum");
  const body = page.getByLabel("JSON body");
  await expect(body).toHaveValue(/"numbers"/);
  await body.fill('{"numbers": [1, 2');
  await expect(page.getByText(/^Not valid JSON/)).toBeVisible();
  await expect(page.getByRole("button", { name: "Invoke" })).toBeDisabled();
  await page.getByRole("button", { name: "Reset to example" }).click();
  await expect(page.getByText("Valid JSON")).toBeVisible();
  await invoke(page);
  await expect(page.getByTestId("status")).toHaveText("200 OK");
  await expect(page.getByTestId("response-body")).toContainText('"result": 6.5');
  await body.fill('{"numbers": "x"}');
  await invoke(page);
  await expect(page.getByTestId("status")).toHaveText("400 Bad Request");
  await expect(page.locator(".response [role=alert]")).toContainText("(code 8003)");
});

test("signing out of the console logs the tested user out too", async ({ page, request }) => {
  await open(page, "/services/echo/methods/whoami");
  await logInOnHeaders(page, "bob@example.com", "demo-password");
  await expect(page.getByTestId("test-user")).toHaveText("bob@example.com");
  const token = (await page.getByTestId("user-token").textContent()) ?? "";
  expect(token).not.toBe("");
  expect(await (await request.get(`/api/users/isvalidusertoken/${token}`)).json()).toBe(true);

  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/sign-in$/);
  expect(await page.evaluate(() => sessionStorage.getItem("console.test-user"))).toBeNull();
  expect(await (await request.get(`/api/users/isvalidusertoken/${token}`)).json()).toBe(false);
});

test("a key role's deny in the Roles matrix refuses calls made with that key, not with another", async ({ page }) => {
  await open(page, "/services/calculator/permissions?method=add");
  const cell = page.getByRole("button", { name: /^JSUser, add: / });
  await expect(cell).toHaveAttribute("data-state", "inherit");
  await cell.click();
  await expect(cell).toHaveAttribute("data-state", "grant");
  await cell.click();
  await expect(cell).toHaveAttribute("data-state", "deny");
  await expect(cell).toHaveAttribute("data-saving", "false");
  try {
    await open(page, "/services/calculator/methods/add");
    await page.getByRole("tab", { name: "HEADERS" }).click();
    const key = page.getByLabel("Call with API key");
    await key.selectOption("JS");
    await expect(page.getByTestId("caller")).toHaveText("Calling anonymously (NotAuthenticatedUser), with the JS key (role JSUser)");
    await invoke(page);
    await expect(page.getByTestId("status")).toHaveText("403 Forbidden");
    await expect(page.locator(".denied")).toContainText("JSUser");
    await expect(page.getByTestId("curl")).toHaveText(/\/[0-9A-F-]{36}\/[0-9A-F-]{36}\/services\/calculator\/add/);

    await key.selectOption("REST");
    await invoke(page);
    await expect(page.getByTestId("status")).toHaveText("200 OK");
    await key.selectOption("");
    await invoke(page);
    await expect(page.getByTestId("status")).toHaveText("200 OK");
    await expect(page.getByTestId("curl")).toContainText("/api/services/calculator/add");
  } finally {
    await open(page, "/services/calculator/permissions?method=add");
    await cell.click();
    await expect(cell).toHaveAttribute("data-state", "inherit");
    await expect(cell).toHaveAttribute("data-saving", "false");
  }
});

test("invoke as a user without their password: their answers, audited, ended with the console session", async ({ page, request, browser }) => {
  await open(page, "/services/orders/methods/deleteOrder");
  await page.getByRole("tab", { name: "HEADERS" }).click();
  await page.getByRole("searchbox", { name: "Invoke as user" }).fill("bob@");
  await page.getByRole("button", { name: "Invoke as bob@example.com" }).click();
  await expect(page.getByTestId("test-user")).toHaveText("bob@example.com");
  await expect(page.getByTestId("impersonated")).toContainText("Invoking as bob@example.com without their password, until");
  const token = (await page.getByTestId("user-token").textContent()) ?? "";
  expect(token.length).toBeGreaterThan(20);

  // the same answer as bob's own login: Support denies deleteOrder
  await invoke(page);
  await expect(page.getByTestId("status")).toHaveText("403 Forbidden");
  await expect(page.locator(".denied")).toContainText("The role Support, which the caller holds, is denied the method deleteOrder.");
  const login = await request.post("/api/users/login", { data: { login: "bob@example.com", password: "demo-password" } });
  const own = (await login.json())["user-token"];
  for (const path of ["/api/services/orders/getOrders", "/api/services/echo/whoami", "/api/services/calculator/add?a=1&b=2"]) {
    const asAdmin = await request.get(path, { headers: { "user-token": token } });
    const asBob = await request.get(path, { headers: { "user-token": own } });
    expect(asAdmin.status(), path).toBe(asBob.status());
  }

  // every call is in the audit log as the admin's, as bob
  await open(page, "/audit");
  const first = page.locator("table.audit tbody tr").first();
  await expect(first).toHaveAttribute("data-action", "impersonation.call");
  await expect(first).toContainText("admin:admin@example.com");
  await expect(first).toContainText("user:bob@example.com");
  await expect(page.locator("table.audit tbody tr[data-action='impersonation.start']").first()).toContainText("user:bob@example.com");

  // signing out of the console ends the sessions it got: the page's, and
  // one got through the admin API with the same console session (which the
  // page never saw, so only the server can end it)
  const bob = (await (await page.request.get("/console/api/users?search=bob@")).json()).items[0].objectId;
  const issued = await page.request.post("/console/api/impersonate", { data: { objectId: bob } });
  expect(issued.status()).toBe(200);
  const second = (await issued.json())["user-token"];
  for (const t of [token, second]) {
    expect((await request.get("/api/services/echo/whoami", { headers: { "user-token": t } })).status()).toBe(200);
  }
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/sign-in/);
  for (const t of [token, second]) {
    const after = await request.get("/api/services/echo/whoami", { headers: { "user-token": t } });
    expect(after.status()).toBe(401);
    expect((await after.json()).code).toBe(3064);
  }
  // bob's own session is his, untouched
  expect((await request.get("/api/services/echo/whoami", { headers: { "user-token": own } })).status()).toBe(200);
});
