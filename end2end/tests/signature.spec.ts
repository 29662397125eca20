import { expect, test } from "@playwright/test";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as http from "node:http";
import * as os from "node:os";
import * as path from "node:path";
import { DEMO_ADMIN } from "./helpers";

// The README's own verification snippets, run as upstreams nobody here
// wrote against calls the gateway signs: what a team would copy must work.
const readme = fs.readFileSync(path.join(__dirname, "..", "..", "README.md"), "utf8");
const section = readme.slice(readme.indexOf("An upstream checks a call like this"));
const python = /```python\n([\s\S]*?)```/.exec(section)?.[1] ?? "";
const javascript = /```js\n([\s\S]*?)```/.exec(section)?.[1] ?? "";

type Verify = (secret: string, req: http.IncomingMessage) => boolean;

/** An upstream in Node that answers whether the README's `verify` accepts the call. */
function nodeUpstream(secret: () => string): Promise<{ url: string; close: () => void }> {
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  const verify = new Function("require", `${javascript}\nreturn verify;`)(require) as Verify;
  const server = http.createServer((req, res) => {
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ verified: verify(secret(), req), url: req.url, headers: req.headers }));
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => {
      const address = server.address() as { port: number };
      resolve({ url: `http://127.0.0.1:${address.port}`, close: () => server.close() });
    }),
  );
}

/** An upstream in Python around the README's `verify`, with the secret from a file. */
async function pythonUpstream(secretFile: string): Promise<{ url: string; close: () => void }> {
  const script = `${python}
import http.server, json, sys
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        secret = open(sys.argv[1]).read().strip()
        headers = {k.lower(): v for k, v in self.headers.items()}
        body = json.dumps({"verified": verify(secret, self.command, self.path, headers), "url": self.path, "headers": headers}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
`;
  const child = spawn("python3", ["-c", script, secretFile], { stdio: ["ignore", "pipe", "inherit"] });
  const port: string = await new Promise((resolve) => child.stdout.once("data", (data) => resolve(String(data).trim())));
  return { url: `http://127.0.0.1:${port}`, close: () => child.kill() };
}

test("the README's Python and JavaScript checks verify the gateway's signature", async ({ request, baseURL }) => {
  expect(python).toContain("def verify");
  expect(javascript).toContain("function verify");
  const origin = { origin: baseURL ?? "" };
  expect((await request.post("/console/api/session", { data: DEMO_ADMIN, headers: origin })).status()).toBe(200);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "signature-"));
  const secretFile = path.join(dir, "secret");
  let nodeSecret = "";
  const upstreams = { node: await nodeUpstream(() => nodeSecret), python: await pythonUpstream(secretFile) };
  const created: string[] = [];
  try {
    for (const [name, upstream] of Object.entries(upstreams)) {
      const service = `sig-${name}`;
      const creation = await request.post("/console/api/services", {
        headers: origin,
        data: {
          name: service,
          baseUrl: `${upstream.url}/base`,
          methods: [
            { name: "check", verb: "GET", route: "/things/{thingId}" },
          ],
        },
      });
      expect(creation.status()).toBe(201);
      created.push(service);
      const secret = (await creation.json()).secret;
      nodeSecret = secret;
      fs.writeFileSync(secretFile, secret);

      // anonymous, with a query the URL parser re-encodes
      const anonymous = await request.get(`/api/services/${service}/things/a%20b?q=it's&n=1`);
      expect(anonymous.status()).toBe(200);
      const seen = await anonymous.json();
      expect(seen.url).toMatch(/^\/base\/things\/a%20b\?q=it/);
      expect(seen.verified).toBe(true);

      // as a user: the identity headers are signed too
      const login = await request.post("/api/users/login", {
        data: { login: "alice@example.com", password: "demo-password" },
      });
      const token = (await login.json())["user-token"];
      const asUser = await request.get(`/api/services/${service}/things/7`, { headers: { "user-token": token } });
      expect(asUser.status()).toBe(200);
      const signed = await asUser.json();
      expect(signed.verified).toBe(true);
      expect(signed.headers["x-caller-email"]).toBe("alice@example.com");
      expect(signed.headers["x-caller-roles"].split(",")).toEqual(expect.arrayContaining(["AuthenticatedUser", "Sales"]));

      // the same signed headers replayed with another caller id: refused
      const replayed = { ...signed.headers, "x-caller-id": "someone-else" };
      delete replayed.host;
      delete replayed["content-length"];
      const forged = await request.get(`${upstream.url}/base/things/7`, { headers: replayed });
      expect((await forged.json()).verified).toBe(false);
      // replayed unchanged it verifies: the check is not refusing everything
      const untouched = { ...signed.headers };
      delete untouched.host;
      delete untouched["content-length"];
      expect((await (await request.get(`${upstream.url}/base/things/7`, { headers: untouched })).json()).verified).toBe(true);

      // a rotated secret: the old one no longer verifies, the new one does
      const rotated = await request.post(`/console/api/services/${service}/secret`, { headers: origin });
      expect(rotated.status()).toBe(200);
      const stale = await request.get(`/api/services/${service}/things/7`);
      expect((await stale.json()).verified).toBe(false);
      nodeSecret = (await rotated.json()).secret;
      fs.writeFileSync(secretFile, nodeSecret);
      const fresh = await request.get(`/api/services/${service}/things/7`);
      expect((await fresh.json()).verified).toBe(true);
    }
  } finally {
    for (const service of created) await request.delete(`/console/api/services/${service}`, { headers: origin });
    upstreams.node.close();
    upstreams.python.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
