import { expect, test } from "@playwright/test";
import { DEMO_ADMIN, hydrated, signIn } from "./helpers";

test("the demo admin signs in and reaches the app shell", async ({ page }) => {
  await signIn(page);
  await expect(page).toHaveURL(/\/$/);
  await hydrated(page);
  await expect(page.getByTestId("admin-email")).toHaveText(DEMO_ADMIN.email);
  const nav = page.getByRole("navigation", { name: "Main" });
  await expect(nav.getByRole("link", { name: "API Services" })).toBeVisible();
  await expect(nav.getByRole("link", { name: "Users" })).toBeVisible();
  await expect(nav.getByRole("link", { name: "Roles" })).toBeVisible();

  // client-side navigation inside the shell keeps the admin signed in
  await nav.getByRole("link", { name: "Users" }).click();
  await expect(page).toHaveURL(/\/users$/);
  await expect(page.getByRole("heading", { name: "Users" })).toBeVisible();
  await expect(page.getByTestId("admin-email")).toHaveText(DEMO_ADMIN.email);
});

test("a wrong password shows an error and stays out", async ({ page, context }) => {
  await signIn(page, DEMO_ADMIN.email, "not-the-password");
  await expect(page.getByRole("alert")).toHaveText("invalid email or password");
  await expect(page).toHaveURL(/\/sign-in$/);
  const cookies = await context.cookies();
  expect(cookies.find((c) => c.name === "console_session")).toBeUndefined();

  // an unknown account gets the very same answer
  await page.getByLabel("Email").fill("nobody@example.com");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert")).toHaveText("invalid email or password");

  // and the pages stay closed
  await page.goto("/roles");
  await expect(page).toHaveURL(/\/sign-in$/);
});

test("a page requested without a session goes to sign-in", async ({ page }) => {
  for (const path of ["/", "/services", "/users", "/roles", "/no-such-page"]) {
    await page.goto(path);
    await expect(page).toHaveURL(/\/sign-in$/);
    await expect(page.getByRole("button", { name: "Sign in" })).toBeVisible();
  }
});

test("sign-out ends the session and the old cookie no longer works", async ({ page, context }) => {
  await signIn(page);
  await expect(page.getByTestId("admin-email")).toHaveText(DEMO_ADMIN.email);
  const session = (await context.cookies()).find((c) => c.name === "console_session");
  expect(session).toBeDefined();
  expect(session?.httpOnly).toBe(true);
  expect(session?.sameSite).toBe("Strict");

  await hydrated(page);
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/sign-in$/);

  // replay the old cookie: the server must have forgotten it
  await context.addCookies([session!]);
  await page.goto("/users");
  await expect(page).toHaveURL(/\/sign-in$/);

  // the server functions refuse it too
  const response = await page.request.post("/console/fn/current_admin", {
    headers: { cookie: `console_session=${session!.value}` },
  });
  expect(response.status()).toBe(401);
});

test("API keys are made once, listed without their secret, and revoked", async ({ page, request }) => {
  await signIn(page);
  await expect(page).toHaveURL(/\/$/);
  await page.goto("/keys");
  await hydrated(page);
  await page.getByLabel("Name").fill("e2e-deploy");
  await page.getByLabel(/Expires after/).fill("30");
  await page.getByRole("button", { name: "Make key" }).click();
  const key = (await page.getByTestId("new-key").textContent()) ?? "";
  expect(key.length).toBeGreaterThan(20);
  const row = page.locator("tr[data-key='e2e-deploy']");
  await expect(row).toBeVisible();
  await expect(row).not.toContainText(key);
  await expect(row.locator("td").nth(4)).not.toHaveText("never");

  const auth = { headers: { authorization: `Bearer ${key}` } };
  expect((await request.get("/console/api/roles", auth)).status()).toBe(200);

  await row.getByRole("button", { name: "Revoke e2e-deploy" }).click();
  await row.getByRole("button", { name: "Revoke e2e-deploy" }).click();
  await expect(page.locator("tr[data-key='e2e-deploy']")).toHaveCount(0);
  expect((await request.get("/console/api/roles", auth)).status()).toBe(401);
});

test("admins are added, disabled, enabled and deleted; an admin changes their own password", async ({ page, browser }) => {
  await signIn(page);
  await expect(page).toHaveURL(/\/$/);
  await page.getByRole("link", { name: "Admins" }).click();
  await expect(page).toHaveURL(/\/admins$/);
  await hydrated(page);
  await expect(page.locator(`tr[data-admin='${DEMO_ADMIN.email}']`)).toContainText("you");

  const second = { email: "e2e-second@example.com", password: "second-password" };
  await page.getByLabel("Email").fill(second.email);
  await page.getByLabel("Password", { exact: true }).fill(second.password);
  await page.getByRole("button", { name: "Add admin" }).click();
  const row = page.locator(`tr[data-admin='${second.email}']`);
  await expect(row).toHaveAttribute("data-enabled", "true");

  // the new admin signs in elsewhere and changes their own password
  const other = await browser.newContext();
  const theirs = await other.newPage();
  await signIn(theirs, second.email, second.password);
  await expect(theirs).toHaveURL(/\/$/);
  await theirs.goto("/admins");
  await hydrated(theirs);
  await theirs.getByLabel("Current password").fill("not-the-password");
  await theirs.getByLabel("New password", { exact: true }).fill("changed-password");
  await theirs.getByLabel("Repeat the new password").fill("changed-password");
  await theirs.getByRole("button", { name: "Change password" }).click();
  await expect(theirs.getByRole("alert")).toContainText("current password is wrong");
  await theirs.getByLabel("Current password").fill(second.password);
  await theirs.getByRole("button", { name: "Change password" }).click();
  await expect(theirs.getByRole("status")).toContainText("Password changed");

  // disabled: their session ends at once, and they cannot sign in
  await row.getByRole("button", { name: `Disable ${second.email}` }).click();
  await expect(row).toHaveAttribute("data-enabled", "false");
  await theirs.goto("/admins");
  await expect(theirs).toHaveURL(/\/sign-in/);
  await signIn(theirs, second.email, "changed-password");
  // a disabled account answers like a wrong password
  await expect(theirs.getByRole("alert")).toContainText(/invalid email or password/i);

  await row.getByRole("button", { name: `Enable ${second.email}` }).click();
  await expect(row).toHaveAttribute("data-enabled", "true");
  await signIn(theirs, second.email, "changed-password");
  await expect(theirs).toHaveURL(/\/$/);
  await other.close();

  await row.getByRole("button", { name: `Delete ${second.email}` }).click();
  await row.getByRole("button", { name: `Delete ${second.email}` }).click();
  await expect(page.locator(`tr[data-admin='${second.email}']`)).toHaveCount(0);
  await page.reload();
  await hydrated(page);
  await expect(page.locator(`tr[data-admin='${second.email}']`)).toHaveCount(0);
  await expect(page.locator(`tr[data-admin='${DEMO_ADMIN.email}']`)).toBeVisible();
});
