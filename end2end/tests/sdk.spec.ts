import { expect, test } from "@playwright/test";
// the official Backendless JS SDK, as a client application would use it
import Backendless from "backendless";
import { DEMO_ADMIN } from "./helpers";

test("the official Backendless JS SDK logs in with the JS key, invokes, meets a JSUser deny and logs out", async ({ request, baseURL }) => {
  const origin = { origin: baseURL ?? "" };
  const signedIn = await request.post("/console/api/session", { data: DEMO_ADMIN, headers: origin });
  expect(signedIn.status()).toBe(200);
  const apps = await (await request.get("/console/api/apps", { headers: origin })).json();
  const app = apps.find((candidate: { default: boolean }) => candidate.default);
  const keys = await (await request.get(`/console/api/apps/${app.id}/api-keys`, { headers: origin })).json();
  const js = keys.find((key: { name: string }) => key.name === "JS");
  expect(js.role).toBe("JSUser");

  const sdk = Backendless.initApp({ appId: app.id, apiKey: js.key, serverURL: baseURL, standalone: true });
  const user = await sdk.UserService.login("alice@example.com", "demo-password", true);
  expect(user.email).toBe("alice@example.com");
  expect(await sdk.UserService.isValidLogin()).toBe(true);
  // invoke posts by name, whatever the method's verb (add is a GET method)
  expect(await sdk.CustomServices.invoke("calculator", "add", { a: 2, b: 3 })).toEqual({ result: 5 });

  const cell = "/console/api/services/calculator/permissions/roles/JSUser/add";
  expect((await request.put(cell, { data: { effect: "deny" }, headers: origin })).status()).toBe(200);
  try {
    const denied = sdk.CustomServices.invoke("calculator", "add", { a: 2, b: 3 });
    await expect(denied).rejects.toMatchObject({ code: 8000, status: 403 });
    await expect(denied).rejects.toHaveProperty("message", expect.stringContaining("JSUser"));
    // the same user through the REST key is not a JSUser
    const rest = keys.find((key: { name: string }) => key.name === "REST");
    const viaRest = await request.post(`/${app.id}/${rest.key}/services/calculator/add`, {
      data: { a: 2, b: 3 },
      headers: { "user-token": sdk.UserService.getCurrentUserToken() },
    });
    expect(viaRest.status()).toBe(200);
  } finally {
    await request.put(cell, { data: { effect: "inherit" }, headers: origin });
  }

  // an HTTP upstream's method, invoked by name: the route's parameter
  // comes from the arguments, the upstream learns who calls, signed
  expect(await sdk.CustomServices.invoke("petstore", "getPet", { petId: "2" })).toEqual({
    id: "2",
    name: "Tom",
    kind: "cat",
  });
  const who = await sdk.CustomServices.invoke("petstore", "whoami", {});
  expect(who.email).toBe("alice@example.com");
  expect(who.roles.split(",")).toEqual(expect.arrayContaining(["JSUser", "AuthenticatedUser", "Sales", "Managers"]));
  expect(who.app).toBe(app.id);

  await sdk.UserService.logout();
  expect(await sdk.UserService.isValidLogin()).toBe(false);
});

test("the SDK initialised with another application's id and JS key logs in to that application only", async ({ request, baseURL }) => {
  const origin = { origin: baseURL ?? "" };
  expect((await request.post("/console/api/session", { data: DEMO_ADMIN, headers: origin })).status()).toBe(200);
  const apps = await (await request.get("/console/api/apps", { headers: origin })).json();
  const main = apps.find((candidate: { default: boolean }) => candidate.default);
  const created = await request.post("/console/api/apps", {
    data: { name: `SDK staging ${Date.now()}`, cloneFrom: main.id, withUsers: true },
    headers: origin,
  });
  expect(created.status()).toBe(201);
  const app = await created.json();
  try {
    const keys = await (await request.get(`/console/api/apps/${app.id}/api-keys`, { headers: origin })).json();
    const js = keys.find((key: { name: string }) => key.name === "JS");
    // a JSUser deny in the clone only
    const cell = `/console/api/apps/${app.id}/services/calculator/permissions/roles/JSUser/add`;
    expect((await request.put(cell, { data: { effect: "deny" }, headers: origin })).status()).toBe(200);

    const sdk = Backendless.initApp({ appId: app.id, apiKey: js.key, serverURL: baseURL, standalone: true });
    const user = await sdk.UserService.login("alice@example.com", "demo-password", true);
    expect(user.email).toBe("alice@example.com");
    const token = sdk.UserService.getCurrentUserToken();
    await expect(sdk.CustomServices.invoke("calculator", "add", { a: 2, b: 3 })).rejects.toMatchObject({ code: 8000, status: 403 });
    expect(await sdk.CustomServices.invoke("calculator", "divide", { a: 6, b: 3 })).toEqual({ result: 2 });
    // the clone's token opens nothing in the default application
    const elsewhere = await request.post("/api/services/calculator/add", {
      data: { a: 2, b: 3 },
      headers: { "user-token": token },
    });
    expect(elsewhere.status()).toBe(401);
    expect((await elsewhere.json()).code).toBe(3064);
    await sdk.UserService.logout();
    expect(await sdk.UserService.isValidLogin()).toBe(false);
  } finally {
    const name = app.name;
    await request.delete(`/console/api/apps/${app.id}`, { data: { confirm: name }, headers: origin });
  }
});
