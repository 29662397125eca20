import { expect, Page, test } from "@playwright/test";
import { hydrated, invoke, open, signIn } from "./helpers";

test.beforeEach(async ({ page }) => {
  await signIn(page);
  await expect(page).toHaveURL(/\/$/);
});

test("a cloned application is switched to in the header, keeps its own key-role deny, survives a reload, and is deleted by name", async ({ page }) => {
  const name = `E2E staging ${Date.now()}`;
  await open(page, "/apps");
  await page.getByLabel("Name").fill(name);
  await page.getByLabel("Start from").selectOption({ label: "a clone of Default" });
  await page.getByLabel("with its users").check();
  await page.getByRole("button", { name: "Create" }).click();
  await expect(page).toHaveURL(/\/apps\/[0-9A-F-]{36}\/application$/);
  const appId = (page.url().match(/\/apps\/([0-9A-F-]{36})\//) ?? [])[1];
  await hydrated(page);
  await expect(page.getByTestId("app-id")).toHaveText(appId);
  const selector = page.getByTestId("app-selector");
  await expect(selector.locator("option:checked")).toHaveText(name);

  // the header switches applications, keeping the page
  await selector.selectOption({ label: "Default" });
  await expect(page).toHaveURL(/\/application$/);
  expect(page.url()).not.toContain("/apps/");
  await hydrated(page);
  await page.getByTestId("app-selector").selectOption({ label: name });
  await expect(page).toHaveURL(new RegExp(`/apps/${appId}/application$`));
  await hydrated(page);

  // a JSUser deny in this application's Roles matrix
  await page.getByRole("link", { name: "API Services" }).click();
  await expect(page).toHaveURL(new RegExp(`/apps/${appId}/services$`));
  await page.locator("[data-service=calculator]").getByRole("link", { name: "Permissions" }).first().click();
  await expect(page).toHaveURL(new RegExp(`/apps/${appId}/services/calculator/permissions`));
  await open(page, `/apps/${appId}/services/calculator/permissions?method=add`);
  const cell = page.getByRole("button", { name: /^JSUser, add: / });
  await expect(cell).toHaveAttribute("data-state", "inherit");
  await cell.click();
  await expect(cell).toHaveAttribute("data-state", "grant");
  await cell.click();
  await expect(cell).toHaveAttribute("data-state", "deny");
  await expect(cell).toHaveAttribute("data-saving", "false");

  // invoked with the JS key of this application: denied; with REST: allowed
  await open(page, `/apps/${appId}/services/calculator/methods/add`);
  await page.getByRole("tab", { name: "HEADERS" }).click();
  const key = page.getByLabel("Call with API key");
  await expect(key.locator("option:checked")).toHaveText(/^REST/);
  await expect(key.locator("option[value='']")).toHaveCount(0);
  await key.selectOption("JS");
  await invoke(page);
  await expect(page.getByTestId("status")).toHaveText("403 Forbidden");
  await expect(page.locator(".denied")).toContainText("JSUser");
  await expect(page.getByTestId("curl")).toContainText(`/${appId}/`);
  await key.selectOption("REST");
  await invoke(page);
  await expect(page.getByTestId("status")).toHaveText("200 OK");

  // a user cloned with the application logs in to it on the HEADERS tab
  await page.getByLabel("Login").fill("alice@example.com");
  await page.getByLabel("Password").fill("demo-password");
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByTestId("test-user")).toHaveText("alice@example.com");
  await invoke(page);
  await expect(page.getByTestId("status")).toHaveText("200 OK");

  // a reload stays in the application, and the deny is still there
  await page.reload();
  await hydrated(page);
  await expect(page).toHaveURL(new RegExp(`/apps/${appId}/services/calculator/methods/add$`));
  await expect(page.getByTestId("app-selector").locator("option:checked")).toHaveText(name);
  await expect(page.getByTestId("test-user")).toHaveText("alice@example.com");
  await open(page, `/apps/${appId}/services/calculator/permissions?method=add`);
  await expect(page.getByRole("button", { name: /^JSUser, add: / })).toHaveAttribute("data-state", "deny");

  // the default application never saw it
  await open(page, "/services/calculator/permissions?method=add");
  await expect(page.getByRole("button", { name: /^JSUser, add: / })).toHaveAttribute("data-state", "inherit");

  // the console's own pages keep the application the admin came from
  await open(page, `/apps/${appId}/users`);
  await page.getByRole("link", { name: "Applications" }).click();
  await expect(page).toHaveURL(new RegExp(`/apps\\?app=${appId}$`));
  await hydrated(page);
  await expect(page.getByTestId("app-selector").locator("option:checked")).toHaveText(name);
  await page.getByRole("link", { name: "Roles" }).click();
  await expect(page).toHaveURL(new RegExp(`/apps/${appId}/roles$`));
  await open(page, "/admins");
  await page.getByTestId("app-selector").selectOption({ label: name });
  await expect(page).toHaveURL(new RegExp(`/admins\\?app=${appId}$`));
  await hydrated(page);

  // signing out ends the test users of every application
  const keys = await (await page.request.get(`/console/api/apps/${appId}/api-keys`)).json();
  const rest = keys.find((key: { name: string }) => key.name === "REST").key;
  const token = await page.evaluate((id) => JSON.parse(sessionStorage.getItem(`console.test-user.${id}`) ?? "{}").token, appId);
  expect(token).toBeTruthy();
  expect(await (await page.request.get(`/${appId}/${rest}/users/isvalidusertoken/${token}`)).json()).toBe(true);
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page).toHaveURL(/\/sign-in$/);
  const left = await page.evaluate(() => Object.keys(sessionStorage).filter((key) => key.startsWith("console.test-user")));
  expect(left).toEqual([]);
  expect(await (await page.request.get(`/${appId}/${rest}/users/isvalidusertoken/${token}`)).json()).toBe(false);
  await signIn(page);
  await expect(page).toHaveURL(/\/$/);

  // deleting: the button waits for the exact name
  await open(page, `/apps/${appId}/application`);
  const confirm = page.getByLabel("Type the application's name to delete it");
  const remove = page.getByRole("button", { name: "Delete this application" });
  await confirm.fill(name.toLowerCase());
  await expect(remove).toBeDisabled();
  await confirm.fill(name);
  await remove.click();
  await expect(page).toHaveURL(/\/apps$/);
  await hydrated(page);
  await expect(page.locator(`tr[data-app='${name}']`)).toHaveCount(0);
  await expect(page.locator("tr[data-app='Default']")).toHaveCount(1);
});
