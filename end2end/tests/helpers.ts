import { expect, Page } from "@playwright/test";

export const DEMO_ADMIN = { email: "admin@example.com", password: "demo-password" };

/** Waits until the wasm has hydrated the page, so clicks reach Leptos. */
export async function hydrated(page: Page) {
  await expect(page.locator("body[data-hydrated=true]")).toHaveCount(1);
}

export async function signIn(page: Page, email = DEMO_ADMIN.email, password = DEMO_ADMIN.password) {
  await page.goto("/sign-in");
  await hydrated(page);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
}

/** Goes to `url` and waits until the page has hydrated. */
export async function open(page: Page, url: string) {
  await page.goto(url);
  await hydrated(page);
}

/** Clicks Invoke on a method's page and waits for the answer's status. */
export async function invoke(page: Page) {
  await page.getByRole("button", { name: "Invoke" }).click();
  await expect(page.getByRole("button", { name: "Invoke" })).toBeEnabled();
  await expect(page.getByTestId("status")).toBeVisible();
}
