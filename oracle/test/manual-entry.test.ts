import { test, before, after, describe } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readingDigestHex, signReading, type Reading } from "../../sdk/src/index.ts";
import { createApiKey } from "../src/api/keys.ts";
import { rawCid } from "../src/ipfs/store.ts";
import { deviceInfo, makeDevice, testNode } from "./fixtures.ts";

describe("manual entry with an evidence file", { timeout: 120_000 }, () => {
  const dev = makeDevice("kangaita-logbook-1");
  let node: Awaited<ReturnType<typeof testNode>>;
  let key: string;
  before(async () => {
    // the node's own content store: Helia on the test node's temp dir
    node = await testNode({ devices: [deviceInfo(dev)], config: { ipfs: { mode: "helia" } } });
    key = createApiKey(node.storage, { scope: "facility", subject: dev.facilityId }).key;
  });
  after(() => node.close());

  const manual = (evidenceSha256: string) => {
    const reading: Reading = {
      v: 1,
      deviceId: dev.deviceId,
      facilityId: dev.facilityId,
      seq: ++dev.seq,
      ts: Math.floor(Date.now() / 1000),
      intervalS: 86_400,
      kind: "manual",
      m: { fuel: "diesel", energyKj: 1_000_000, evidenceSha256 },
    } as Reading;
    return signReading(reading, dev.secretKey);
  };
  const postEntry = (envelope: string, file: Buffer, type = "application/pdf", name = "invoice.pdf") => {
    const form = new FormData();
    form.append("envelope", envelope);
    form.append("file", new Blob([new Uint8Array(file)], { type }), name);
    return fetch(`${node.httpUrl}/v1/manual-entries`, { method: "POST", headers: { "x-api-key": key }, body: form });
  };
  const lastDeadLetter = () => node.storage.listDeadLetters({ limit: 1 })[0]!;

  test("stores the reading as manual and pins its evidence under the digest the record signs", async () => {
    const file = Buffer.from(`%PDF-1.4 diesel invoice ${Date.now()}`);
    const sha = createHash("sha256").update(file).digest("hex");
    const env = manual(sha);
    const res = await postEntry(JSON.stringify(env), file);
    assert.equal(res.status, 201, await res.clone().text());
    const stored = node.storage.getReading(readingDigestHex(env.reading));
    assert.ok(stored, "reading stored");
    assert.equal(stored.source, "manual");

    const ev = await fetch(`${node.httpUrl}/v1/evidence/${sha}`);
    assert.equal(ev.status, 200);
    const record = (await ev.json()) as { cid: string; sizeBytes: number; mediaType: string; facilityId: string };
    assert.equal(record.cid, await rawCid(file));
    assert.equal(record.sizeBytes, file.length);
    assert.equal(record.mediaType, "application/pdf");
    assert.equal(record.facilityId, dev.facilityId);
    assert.ok(await node.content!.isPinned(record.cid), "pinned in the node's IPFS");
    assert.deepEqual(Buffer.from((await node.content!.get(record.cid))!), file);
  });

  test("GET /v1/evidence/:sha256 answers 404 for an unknown digest and is in the OpenAPI document", async () => {
    assert.equal((await fetch(`${node.httpUrl}/v1/evidence/${"0".repeat(64)}`)).status, 404);
    const openapi = (await (await fetch(`${node.httpUrl}/docs/json`)).json()) as { paths: Record<string, unknown> };
    assert.ok(openapi.paths["/v1/evidence/{sha256}"]);
  });

  test("an evidence mismatch is refused and dead-lettered without the file's bytes", async () => {
    const file = Buffer.from(`SECRET-FILE-BYTES ${Date.now()}`);
    const sha = createHash("sha256").update(file).digest("hex");
    const text = JSON.stringify(manual("ab".repeat(32)));
    const res = await postEntry(text, file, "image/jpeg");
    assert.equal(res.status, 422);
    assert.equal(((await res.json()) as { error: string }).error, "EVIDENCE_MISMATCH");
    const dl = lastDeadLetter();
    assert.equal(dl.source, "manual");
    assert.equal(dl.reason, "evidence-mismatch");
    assert.equal(dl.payload, text);
    assert.match(dl.detail, /EVIDENCE_MISMATCH/);
    assert.ok(
      dl.detail.includes(sha) && dl.detail.includes(`${file.length} bytes`) && dl.detail.includes("image/jpeg"),
    );
    assert.ok(!JSON.stringify(dl).includes("SECRET-FILE-BYTES"), "the file's bytes are not in the dead letter");
    assert.equal(node.storage.getEvidence(sha), null, "a refused file is not pinned");
  });

  test("an envelope that is not JSON, or not a manual reading, is refused and dead-lettered", async () => {
    const file = Buffer.from("evidence");
    assert.equal((await postEntry("{not json", file)).status, 400);
    assert.equal(lastDeadLetter().payload, "{not json");
    assert.match(lastDeadLetter().detail, /MALFORMED/);
    assert.equal(lastDeadLetter().reason, "malformed");
    const wrong = JSON.stringify({ reading: { kind: "manual" }, sig: "0x00" });
    assert.equal((await postEntry(wrong, file)).status, 422);
    assert.equal(lastDeadLetter().payload, wrong);
    assert.match(lastDeadLetter().detail, /SCHEMA/);
    assert.equal(lastDeadLetter().reason, "schema");
  });

  test("the envelope may come as a field typed application/json or as a file part; one evidence file only", async () => {
    /** A multipart body written out by hand: `envelope` as a field declared application/json (curl -F 'envelope=…;type=application/json'). */
    const typedField = (envelope: string, file: Buffer) => {
      const b = "----cp-test-boundary";
      const body = Buffer.concat([
        Buffer.from(
          `--${b}\r\nContent-Disposition: form-data; name="envelope"\r\nContent-Type: application/json\r\n\r\n${envelope}\r\n` +
            `--${b}\r\nContent-Disposition: form-data; name="file"; filename="invoice.pdf"\r\nContent-Type: application/pdf\r\n\r\n`,
        ),
        file,
        Buffer.from(`\r\n--${b}--\r\n`),
      ]);
      return fetch(`${node.httpUrl}/v1/manual-entries`, {
        method: "POST",
        headers: { "x-api-key": key, "content-type": `multipart/form-data; boundary=${b}` },
        body,
      });
    };
    const evidence = (tag: string) => {
      const file = Buffer.from(`%PDF-1.4 ${tag} ${Date.now()}`);
      return { file, sha: createHash("sha256").update(file).digest("hex") };
    };
    const a = evidence("typed field");
    const envA = manual(a.sha);
    const typed = await typedField(JSON.stringify(envA), a.file);
    assert.equal(typed.status, 201, await typed.clone().text());
    assert.equal(node.storage.getReading(readingDigestHex(envA.reading))?.source, "manual");

    const b = evidence("file part");
    const envB = manual(b.sha);
    const form = new FormData();
    form.append("envelope", new Blob([JSON.stringify(envB)], { type: "application/json" }), "env.json");
    form.append("file", new Blob([new Uint8Array(b.file)], { type: "application/pdf" }), "invoice.pdf");
    const asFile = await fetch(`${node.httpUrl}/v1/manual-entries`, {
      method: "POST",
      headers: { "x-api-key": key },
      body: form,
    });
    assert.equal(asFile.status, 201, await asFile.clone().text());
    assert.equal(node.storage.getReading(readingDigestHex(envB.reading))?.source, "manual");

    // declared JSON, but not: refused and dead-lettered like any envelope that is not JSON
    const bad = await typedField("{not json", evidence("bad").file);
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { message: string }).message, /declared application\/json but is not JSON/);
    assert.equal(lastDeadLetter().reason, "malformed");
    assert.match(lastDeadLetter().detail, /MALFORMED/);

    const c = evidence("two files");
    const two = new FormData();
    two.append("envelope", JSON.stringify(manual(c.sha)));
    two.append("file", new Blob([new Uint8Array(c.file)], { type: "application/pdf" }), "invoice.pdf");
    two.append("photo", new Blob([new Uint8Array(c.file)], { type: "image/jpeg" }), "meter.jpg");
    const twoFiles = await fetch(`${node.httpUrl}/v1/manual-entries`, {
      method: "POST",
      headers: { "x-api-key": key },
      body: two,
    });
    assert.equal(twoFiles.status, 400);
    assert.equal(((await twoFiles.json()) as { error: string }).error, "INCOMPLETE");
  });

  test("a file name is stored as sent, or refused when it cannot be (a control character, over 255 characters)", async () => {
    // a name outside ASCII comes back exactly as sent
    const file = Buffer.from(`lasku ${Date.now()}`);
    const sha = createHash("sha256").update(file).digest("hex");
    const name = "lasku – päivä 5.12. Kangaita ☕.pdf";
    assert.equal((await postEntry(JSON.stringify(manual(sha)), file, "application/pdf", name)).status, 201);
    const record = (await (await fetch(`${node.httpUrl}/v1/evidence/${sha}`)).json()) as { filename: string };
    assert.equal(record.filename, name);

    // SQLite's reads stop at a NUL (the name would come back cut) and PostgreSQL's text cannot hold one
    const upload = (bytes: Buffer, filename: string) => {
      const form = new FormData();
      form.append("file", new Blob([new Uint8Array(bytes)], { type: "application/pdf" }), filename);
      return fetch(`${node.httpUrl}/v1/evidence`, { method: "POST", headers: { "x-api-key": key }, body: form });
    };
    for (const [filename, why] of [
      ["invoice\u0000.exe.pdf", /the file name holds a control character \(U\+0000\)/],
      ["invoice\u001b[31m.pdf", /the file name holds a control character \(U\+001B\)/],
      // a bidirectional override shows "invoice\u202Efdp.exe" as "invoiceexe.pdf"
      ["invoice\u202Efdp.exe", /the file name holds a control character \(U\+202E\)/],
      [`${"a".repeat(252)}.pdf`, /the file name is 256 characters long; the most is 255/],
    ] as const) {
      const bytes = Buffer.from(`refused ${filename.length} ${Math.random()}`);
      const bytesSha = createHash("sha256").update(bytes).digest("hex");
      const res = await upload(bytes, filename);
      assert.equal(res.status, 400, filename);
      const body = (await res.json()) as { error: string; message: string };
      assert.equal(body.error, "BAD_FILE_NAME");
      assert.match(body.message, why);
      assert.match(body.message, /rename the file/);
      assert.equal(node.storage.getEvidence(bytesSha), null, "nothing stored for a refused name");

      // the same file with a signed manual entry: refused, dead-lettered with the name written out
      const res2 = await postEntry(JSON.stringify(manual(bytesSha)), bytes, "application/pdf", filename);
      assert.equal(res2.status, 400);
      assert.equal(((await res2.json()) as { error: string }).error, "BAD_FILE_NAME");
      const dl = lastDeadLetter();
      assert.equal(dl.reason, "malformed");
      assert.match(dl.detail, why);
      assert.equal(node.storage.getEvidence(bytesSha), null);
    }
    assert.match(lastDeadLetter().detail, /a{252}\.pdf/, "a dead letter's detail keeps the whole name");
  });
});

describe("an evidence file over http.evidenceMaxBytes", { timeout: 120_000 }, () => {
  const dev = makeDevice("kangaita-logbook-2");
  let node: Awaited<ReturnType<typeof testNode>>;
  let key: string;
  before(async () => {
    node = await testNode({
      devices: [deviceInfo(dev)],
      config: { ipfs: { mode: "helia" }, http: { evidenceMaxBytes: 1024 } },
    });
    key = createApiKey(node.storage, { scope: "facility", subject: dev.facilityId }).key;
  });
  after(() => node.close());

  /** POST /v1/evidence of `bytes` as an invoice PDF, with the facility's key. */
  const uploadEvidence = (bytes: Buffer) => {
    const form = new FormData();
    form.append("file", new Blob([new Uint8Array(bytes)], { type: "application/pdf" }), "invoice.pdf");
    return fetch(`${node.httpUrl}/v1/evidence`, { method: "POST", headers: { "x-api-key": key }, body: form });
  };

  test("is refused with 413, on a manual entry and on POST /v1/evidence: nothing stored, nothing pinned", async () => {
    const big = Buffer.alloc(4096, 0x41);
    const sha = createHash("sha256").update(big).digest("hex");
    const reading = {
      v: 1,
      deviceId: dev.deviceId,
      facilityId: dev.facilityId,
      seq: ++dev.seq,
      ts: Math.floor(Date.now() / 1000),
      intervalS: 86_400,
      kind: "manual",
      m: { fuel: "diesel", energyKj: 1_000_000, evidenceSha256: sha },
    } as Reading;
    const env = signReading(reading, dev.secretKey);
    const entry = new FormData();
    entry.append("envelope", JSON.stringify(env));
    entry.append("file", new Blob([new Uint8Array(big)], { type: "application/pdf" }), "invoice.pdf");
    const res = await fetch(`${node.httpUrl}/v1/manual-entries`, {
      method: "POST",
      headers: { "x-api-key": key },
      body: entry,
    });
    assert.equal(res.status, 413, await res.clone().text());
    assert.equal(node.storage.getReading(readingDigestHex(env.reading)), null, "no reading stored");

    const up = await uploadEvidence(big);
    assert.equal(up.status, 413, await up.clone().text());
    assert.equal(node.storage.getEvidence(sha), null, "no evidence recorded");
    assert.equal(await node.content!.isPinned(await rawCid(big)), false, "nothing pinned");

    // a file within the limit is taken (the limit is the only difference)
    const fine = await uploadEvidence(Buffer.alloc(512, 0x42));
    assert.equal(fine.status, 201, await fine.clone().text());
  });
});
