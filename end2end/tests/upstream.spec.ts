import { expect, Locator, Page, test } from "@playwright/test";
import { hydrated, invoke, open, signIn } from "./helpers";

const port = Number(process.env.E2E_PORT ?? 3210);

/** Clicks a matrix cell until it shows `state`, each click saved. */
async function cycleTo(cell: Locator, state: string) {
  for (let i = 0; i < 3; i++) {
    if ((await cell.getAttribute("data-state")) === state) break;
    await cell.click();
    await expect(cell).toHaveAttribute("data-saving", "false");
  }
  await expect(cell).toHaveAttribute("data-state", state);
}

test.beforeEach(async ({ page }) => {
  await signIn(page);
  await expect(page).toHaveURL(/\/$/);
});

test("import an OpenAPI document, deny an imported method to a role, invoke through the upstream", async ({
  page,
  request,
}) => {
  // the demo upstream's own document, pasted into the console
  const document = await (await request.get("/demo-upstream/openapi.yaml")).text();
  expect(document).toContain("openapi: 3.0.3");
  await open(page, "/services");
  await page.getByRole("link", { name: "New service" }).click();
  await expect(page).toHaveURL(/\/new-service$/);
  await hydrated(page);
  await page.getByLabel("Name").fill("zoo");
  await page.getByLabel(/^Base URL/).fill(`http://127.0.0.1:${port}/demo-upstream`);
  await page.getByLabel("OpenAPI document").fill(document);
  await expect(page.getByRole("button", { name: "Import", exact: true })).toBeDisabled();
  await page.getByRole("button", { name: "Preview" }).click();
  const diff = page.getByTestId("import-diff");
  await expect(diff).toContainText("Creates `zoo`");
  await expect(diff).toContainText("5 added, 0 removed, 0 changed");
  await expect(page.getByTestId("anonymous")).toContainText("getPet");
  await page.getByRole("button", { name: "Import", exact: true }).click();
  await expect(page.getByTestId("service-created")).toContainText("`zoo` is saved.");
  await expect(page.getByTestId("secret")).not.toBeEmpty();
  await page.getByRole("link", { name: "Open zoo" }).click();
  await hydrated(page);
  await expect(page.locator("tr[data-method=getPet]")).toContainText("/pets/{petId}");

  // deny getPet to Managers, a role alice holds
  await open(page, "/services/zoo/permissions?method=getPet");
  const cell = page.locator("table.matrix[data-kind=roles]").getByRole("button", { name: /^Managers, getPet: / });
  await cycleTo(cell, "deny");

  // invoke as alice on the HEADERS tab: the 403 names its reason, nothing reached the upstream
  await open(page, "/services/zoo/methods/getPet");
  await page.getByRole("tab", { name: "HEADERS" }).click();
  await page.getByLabel("Login").fill("alice@example.com");
  await page.getByLabel("Password").fill("demo-password");
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByTestId("caller")).toHaveText("Calling as alice@example.com");
  await invoke(page);
  await expect(page.getByTestId("status")).toHaveText("403 Forbidden");
  await expect(page.locator(".denied")).toContainText(
    "The role Managers, which the caller holds, is denied the method getPet.",
  );

  // the denied call never reached the upstream: no call is counted
  await open(page, "/services/zoo");
  await expect(page.locator("tr[data-method=getPet] [data-testid=method-stats]")).toHaveText("no calls yet");

  // grant it: the upstream's answer comes back, signed for and about alice
  await open(page, "/services/zoo/permissions?method=getPet");
  await cycleTo(cell, "grant");
  await open(page, "/services/zoo/methods/getPet");
  await expect(page.getByTestId("caller")).toHaveText("Calling as alice@example.com");
  await invoke(page);
  await expect(page.getByTestId("status")).toHaveText("200 OK");
  await expect(page.getByTestId("response-body")).toContainText('"name": "Rex"');
  await expect(page.getByTestId("time")).toBeVisible();
  await open(page, "/services/zoo/methods/whoami");
  await invoke(page);
  await expect(page.getByTestId("status")).toHaveText("200 OK");
  await expect(page.getByTestId("response-body")).toContainText('"email": "alice@example.com"');

  // the service page shows the call and its settings; delete it with its cells
  await open(page, "/services/zoo");
  await expect(page.locator("tr[data-method=getPet] [data-testid=method-stats]")).toContainText("last 200");
  await page.getByRole("button", { name: "Delete the service and its 1 permission cells" }).click();
  await page.getByRole("button", { name: "Delete the service and its 1 permission cells" }).click();
  await expect(page).toHaveURL(/\/services$/);
  expect((await request.get("/api/services/zoo/pets")).status()).toBe(404);
});

test("the demo's petstore goes through the gateway, signed", async ({ request }) => {
  const direct = await request.get("/demo-upstream/pets");
  expect(direct.status()).toBe(401);
  const pets = await request.get("/api/services/petstore/pets?kind=cat");
  expect(pets.status()).toBe(200);
  expect(await pets.json()).toEqual([{ id: "2", name: "Tom", kind: "cat" }]);
  const who = await (await request.get("/api/services/petstore/whoami")).json();
  expect(who.roles).toBe("NotAuthenticatedUser");
  expect(who.signatureVerified).toBe(true);
  const denied = await request.delete("/api/services/petstore/pets/1");
  expect(denied.status()).toBe(403);
});
