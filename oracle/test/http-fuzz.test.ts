import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { createApiKey } from "../src/api/keys.ts";
import { deviceInfo, electricity, makeDevice, testNode } from "./fixtures.ts";
import { postgresMissing, startPostgres, type PostgresServer } from "./postgres-harness.ts";

/** The node's storage: the embedded default, and PostgreSQL on a real server (its own checks: a NUL in text, BIGINT bounds). */
let pgServer: Promise<PostgresServer> | null = null;
after(async () => {
  if (pgServer) await (await pgServer).stop();
});
const drivers: { name: string; skip: string | false; storage: () => Promise<object> }[] = [
  { name: "SQLite", skip: false, storage: async () => ({}) },
  {
    name: "PostgreSQL",
    skip: postgresMissing ?? false,
    storage: async () => ({ driver: "postgres", url: await (await (pgServer ??= startPostgres())).createDatabase() }),
  },
];

/**
 * The HTTP API under arbitrary requests (rule 7, fuzz what parses): every route, with path
 * parameters, query strings, bodies and content types drawn at random, against a real node on
 * loopback. Whatever comes in, the answer is a 2xx or a 4xx whose JSON body says what was wrong
 * (`message`, or a refused reading's `detail`);
 * never a 5xx, a dropped connection or a body that is not JSON. 400 requests in all.
 */
for (const driver of drivers)
  describe(`HTTP API fuzz (${driver.name})`, { timeout: 300_000, skip: driver.skip }, () => {
    const meter = makeDevice("kangaita-meter-1");
    let node: Awaited<ReturnType<typeof testNode>>;
    let keys: { admin: string; facility: string; device: string };
    before(async () => {
      node = await testNode({
        devices: [deviceInfo(meter)],
        config: { http: { rateLimit: { max: 100_000 } }, storage: await driver.storage() },
      });
      keys = {
        admin: createApiKey(node.storage, { scope: "admin", subject: "ops" }).key,
        facility: createApiKey(node.storage, { scope: "facility", subject: meter.facilityId }).key,
        device: createApiKey(node.storage, { scope: "device", subject: meter.deviceId }).key,
      };
      // something to find: a stored reading and a dead letter
      const res = await fetch(`${node.httpUrl}/v1/readings`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-api-key": keys.facility },
        body: JSON.stringify([electricity(meter), "not an envelope"]),
      });
      assert.equal(res.status, 200);
    });
    after(() => node.close());

    const text = fc.oneof(
      fc.string(),
      fc.string({ unit: "binary" }),
      fc.constantFrom("", "0", "-1", "1e309", "NaN", "0x", `0x${"ab".repeat(32)}`, "../..", "%", "%00", "' OR 1=1 --"),
      fc.integer().map(String),
      fc.bigInt().map(String),
    );
    const routes: [method: string, path: string][] = [
      ["GET", "/v1/readings/:p"],
      ["GET", "/v1/readings"],
      ["POST", "/v1/readings"],
      ["GET", "/v1/dead-letters"],
      ["GET", "/v1/devices/health"],
      ["GET", "/v1/batches"],
      ["GET", "/v1/batches/:p"],
      ["GET", "/v1/attestations/:p"],
      ["GET", "/v1/status"],
      ["POST", "/v1/evidence"],
      ["GET", "/v1/evidence/:p"],
      ["POST", "/v1/manual-entries"],
      ["POST", "/v1/admin/api-keys"],
      ["DELETE", "/v1/admin/api-keys/:p"],
      ["POST", "/v1/admin/batches/:p/retry"],
      ["POST", "/v1/admin/batches/:p/abandon"],
      ["POST", "/v1/admin/batches/retry-all"],
      ["GET", "/v1/:p"],
    ];
    const request = fc.record({
      route: fc.constantFrom(...routes),
      param: text,
      query: fc.dictionary(
        fc.oneof(
          fc.constantFrom("limit", "offset", "reason", "deviceId", "facilityId", "state", "since", "cursor"),
          text,
        ),
        text,
        { maxKeys: 3 },
      ),
      key: fc.constantFrom<"admin" | "facility" | "device" | "none" | "bad">(
        "admin",
        "facility",
        "device",
        "none",
        "bad",
      ),
      contentType: fc.constantFrom(
        "application/json",
        "application/json; charset=utf-8",
        "text/plain",
        "application/octet-stream",
        "multipart/form-data; boundary=xyz",
        "multipart/form-data",
        null,
      ),
      body: fc.oneof(
        fc.jsonValue().map((v) => JSON.stringify(v)),
        fc.constantFrom(
          "",
          "{",
          "[]",
          '{"reading":{}}',
          '--xyz\r\nContent-Disposition: form-data; name="envelope"\r\n\r\n{}\r\n--xyz--\r\n',
          '--xyz\r\nContent-Disposition: form-data; name="file"; filename="a.pdf"\r\n\r\n%PDF\r\n--xyz',
          '{"scope":"device","subject":"x"}',
          '{"scope":"root","subject":""}',
        ),
        fc.uint8Array({ maxLength: 512 }).map((b) => Buffer.from(b)),
        text,
      ),
    });

    test("what the fuzz found, held: a broken multipart body, an infinite limit, revoking an unknown key", async () => {
      const cases: [
        method: string,
        path: string,
        contentType: string | null,
        body: string | null,
        status: number,
        message: RegExp,
      ][] = [
        [
          "POST",
          "/v1/evidence",
          "multipart/form-data; boundary=xyz",
          "\0",
          400,
          /multipart\/form-data body cannot be read/,
        ],
        ["POST", "/v1/manual-entries", "multipart/form-data", "abc", 400, /multipart\/form-data body cannot be read/],
        ["GET", "/v1/readings?limit=1e309", null, null, 400, /querystring\/limit must be a finite number/],
        ["GET", "/v1/dead-letters?limit=Infinity", null, null, 400, /querystring\/limit must be a finite number/],
        ["GET", "/v1/batches?limit=1e309", null, null, 400, /querystring\/limit must be a finite number/],
        ["DELETE", "/v1/admin/api-keys/987654", null, null, 404, /no API key 987654/],
        // NUL characters (PostgreSQL's text cannot hold one): looked up, they find nothing; sent, they are dead-lettered
        ["GET", "/v1/readings/0x%00", null, null, 400, /digest/],
        ["GET", "/v1/dead-letters?deviceId=a%00b", null, null, 200, /^$/],
        ["GET", "/v1/readings?deviceId=a%00b", null, null, 200, /^$/],
        ["GET", "/v1/batches?facilityId=%00", null, null, 200, /^$/],
        ["GET", "/v1/devices/health?facilityId=%00", null, null, 200, /^$/],
        ["GET", "/v1/devices/health?after=%00", null, null, 200, /^$/],
        ["GET", "/v1/devices/health?limit=0", null, null, 400, /limit must be >= 1/],
        ["GET", "/v1/devices/health?limit=1001", null, null, 400, /limit must be <= 1000/],
        ["GET", "/v1/evidence/%00", null, null, 400, /sha256|SHA-256|hex/i],
        // numbers beyond what a BIGINT holds (PostgreSQL refuses to compare with them): 400, saying the bound
        ["GET", "/v1/readings?afterTs=1e300", null, null, 400, /afterTs must be <= 9007199254740991/],
        ["GET", "/v1/dead-letters?before=99999999999999999999", null, null, 400, /before must be <= 9007199254740991/],
        ["GET", "/v1/devices/health?gapS=1e300", null, null, 400, /gapS must be <= 31622400/],
        ["GET", "/v1/devices/health?sinceMs=1e300", null, null, 400, /sinceMs must be <= 9007199254740991/],
        ["GET", "/v1/batches/9223372036854775296", null, null, 400, /id must be <= 9007199254740991/],
        ["GET", "/v1/batches/1e309", null, null, 400, /params\/id must be a finite number/],
        ["DELETE", "/v1/admin/api-keys/9223372036854775296", null, null, 400, /id must be <= 9007199254740991/],
        ["POST", "/v1/readings", "application/json", '{"a":"\u0000"}\u0000', 422, /./],
        ["POST", "/v1/readings", "application/json", '{"reading":{"deviceId":"a\\u0000b"}}', 422, /./],
        // an API key's subject and label: what the key could never use, or a name that would come back cut
        [
          "POST",
          "/v1/admin/api-keys",
          "application/json",
          '{"scope":"facility","subject":"Kangaita Gate"}',
          400,
          /subject "Kangaita Gate" is not a facility id/,
        ],
        [
          "POST",
          "/v1/admin/api-keys",
          "application/json",
          '{"scope":"device","subject":"m1","label":"a\\u0000b"}',
          400,
          /label holds a control character \(U\+0000\)/,
        ],
        [
          "POST",
          "/v1/admin/api-keys",
          "application/json",
          '{"scope":"oracle","subject":"node\\u0007"}',
          400,
          /subject holds a control character \(U\+0007\)/,
        ],
        ["POST", "/v1/admin/api-keys", "application/json", '{"scope":"admin","subject":"  "}', 400, /subject is empty/],
        [
          "POST",
          "/v1/admin/api-keys",
          "application/json",
          '{"scope":"admin","subject":" * "}',
          400,
          /subject "\*" is reserved for the admin token/,
        ],
        [
          "POST",
          "/v1/admin/api-keys",
          "application/json",
          '{"scope":"device","subject":"m1","label":"a\\ud800b"}',
          400,
          /label is not valid Unicode \(a lone surrogate\)/,
        ],
        // lengths count characters: 200 emoji are 400 UTF-16 units, and fit
        [
          "POST",
          "/v1/admin/api-keys",
          "application/json",
          JSON.stringify({ scope: "device", subject: "m1", label: "😀".repeat(200) }),
          201,
          /./,
        ],
      ];
      for (const [method, path, contentType, body, status, message] of cases) {
        const res = await fetch(`${node.httpUrl}${path}`, {
          method,
          headers: { "x-api-key": keys.admin, ...(contentType ? { "content-type": contentType } : {}) },
          body: body ?? undefined,
        });
        const raw = await res.text();
        assert.equal(res.status, status, `${method} ${path} → ${raw.slice(0, 300)}`);
        const json = JSON.parse(raw) as { message?: string; detail?: string };
        if (status >= 400) assert.match(json.message ?? json.detail ?? "", message, `${method} ${path}`);
      }
      // a label outside ASCII is kept as sent
      const label = "Kangaita – mittari 1 ☕";
      const made = await fetch(`${node.httpUrl}/v1/admin/api-keys`, {
        method: "POST",
        headers: { "x-api-key": keys.admin, "content-type": "application/json" },
        body: JSON.stringify({ scope: "device", subject: "mittari-1", label }),
      });
      assert.equal(made.status, 201);
      const { id } = (await made.json()) as { id: number };
      assert.equal(node.storage.listApiKeys().find((k) => k.id === id)?.label, label);
      // what was refused for its content is on record, a NUL shown as \u0000
      const dead = await fetch(`${node.httpUrl}/v1/dead-letters?limit=5`, { headers: { "x-api-key": keys.admin } });
      assert.equal(dead.status, 200);
      const letters = (await dead.json()) as { deadLetters?: { payload: string }[]; items?: { payload: string }[] };
      const list = letters.deadLetters ?? letters.items ?? [];
      assert.ok(
        list.some((d) => d.payload.includes("\\u0000")),
        JSON.stringify(letters).slice(0, 500),
      );
    });

    test("every route answers arbitrary requests with a 2xx, or a 4xx that says what was wrong", async () => {
      const seen = new Map<number, number>();
      await fc.assert(
        fc.asyncProperty(request, async (r) => {
          const [method, template] = r.route;
          const path = template.replace(":p", encodeURIComponent(r.param));
          const qs = new URLSearchParams(r.query).toString();
          const headers: Record<string, string> = {};
          if (r.key === "bad") headers["x-api-key"] = "cp_not-a-key";
          else if (r.key !== "none") headers["x-api-key"] = keys[r.key];
          if (r.contentType && method !== "GET" && method !== "DELETE") headers["content-type"] = r.contentType;
          const res = await fetch(`${node.httpUrl}${path}${qs ? `?${qs}` : ""}`, {
            method,
            headers,
            body: method === "GET" || method === "DELETE" ? undefined : r.body,
          });
          seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
          const raw = await res.text();
          const what = `${method} ${path}${qs ? `?${qs}` : ""} → ${res.status} ${raw.slice(0, 300)}`;
          assert.ok(res.status < 500, what);
          if (res.status >= 400) {
            // an error ({ error, message }), or a refused reading ({ status, reason, detail })
            const body = JSON.parse(raw) as { message?: unknown; detail?: unknown };
            const why = body.message ?? body.detail;
            assert.ok(typeof why === "string" && why.length > 0, what);
          }
        }),
        { numRuns: 400 },
      );
      // the requests reached past the front door: some succeeded, some were refused for their content
      assert.ok((seen.get(200) ?? 0) + (seen.get(201) ?? 0) > 0, JSON.stringify([...seen]));
      assert.ok((seen.get(400) ?? 0) > 0, JSON.stringify([...seen]));
      // the node still works (with a new key: the fuzz may have revoked any of its own, DELETE /v1/admin/api-keys/2)
      const fresh = createApiKey(node.storage, { scope: "device", subject: meter.deviceId }).key;
      const ok = await fetch(`${node.httpUrl}/v1/readings`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-api-key": fresh },
        body: JSON.stringify(electricity(meter)),
      });
      assert.equal(ok.status, 201);
    });
  });
