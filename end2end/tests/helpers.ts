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

type Cells = Record<string, string>;
type Document = { services: Record<string, { users?: Record<string, Cells>; roles?: Record<string, Cells> }> };

/**
 * The decision rule written again, independently of the server: every
 * enabled user's answer on `service`/`method` (or `*`, each subject's All
 * Methods state alone) from the exported permission document and the users
 * with their roles, read through the admin API with the page's session.
 */
export async function ruleAnswers(page: Page, service: string, method: string): Promise<Map<string, boolean>> {
  const document: Document = await (await page.request.get("/console/api/permissions")).json();
  const cells = document.services[service] ?? {};
  const state = (of: Cells | undefined): string => {
    if (!of) return "inherit";
    if (method !== "*" && (of[method] === "grant" || of[method] === "deny")) return of[method];
    return of["*"] ?? "inherit";
  };
  const answers = new Map<string, boolean>();
  for (let offset = 0; ; offset += 500) {
    const reply = await page.request.get(`/console/api/users?offset=${offset}&limit=500`);
    expect(reply.status()).toBe(200);
    const users: { email: string; userStatus: string; roles: string[] }[] = (await reply.json()).items;
    for (const user of users) {
      if (user.userStatus !== "ENABLED") continue;
      const roles = ["AuthenticatedUser", ...user.roles];
      const denied =
        state(cells.users?.[user.email]) === "deny" || roles.some((role) => state(cells.roles?.[role]) === "deny");
      answers.set(user.email, !denied);
    }
    if (users.length < 500) break;
  }
  return answers;
}

/** How many users may and may not call, by [`ruleAnswers`]. */
export async function ruleCounts(page: Page, service: string, method: string) {
  const answers = [...(await ruleAnswers(page, service, method)).values()];
  const allowed = answers.filter((a) => a).length;
  return { allowed, denied: answers.length - allowed };
}

/** 10000 → "10,000", as the console writes counts. */
export const thousands = (n: number) => n.toLocaleString("en-US");
