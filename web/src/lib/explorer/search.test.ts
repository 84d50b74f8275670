import { test } from "node:test";
import assert from "node:assert/strict";
import type { SearchHit } from "@carbonproof/subgraph/client";
import { hitHref, normaliseTerm, protocolIdFromKey, routeSearch, termShape } from "./search.ts";

const H32 = `0x${"ab".repeat(32)}` as const;
const H32b = `0x${"cd".repeat(32)}` as const;
const ADDR = `0x${"12".repeat(20)}` as const;

test("one hit redirects to its page", () => {
  assert.deepEqual(routeSearch(H32, [{ kind: "attestation", id: H32, label: "attestation" }]), {
    kind: "redirect",
    href: `/explorer/attestations/${H32}`,
  });
  assert.deepEqual(routeSearch("65538", [{ kind: "credit", id: 65538n, label: "credit" }]), {
    kind: "redirect",
    href: "/credit/65538",
  });
});

test("hits that lead to one page count once and still redirect", () => {
  const hits: SearchHit[] = [
    { kind: "oracleNode", id: ADDR, label: "oracle node #1" },
    { kind: "account", id: ADDR, label: "account" },
  ];
  assert.deepEqual(routeSearch(ADDR, hits), { kind: "redirect", href: `/explorer/accounts/${ADDR}` });
});

test("several destinations make a list, in the indexer's order", () => {
  const hits: SearchHit[] = [
    { kind: "credit", id: 7n, label: "credit 7" },
    { kind: "listing", id: 7n, label: "listing 7" },
    { kind: "retirement", id: 7n, label: "certificate 7" },
  ];
  const r = routeSearch("7", hits);
  assert.equal(r.kind, "many");
  assert.deepEqual(r.kind === "many" && r.hits.map((h) => h.href), ["/credit/7", "/listing/7", "/certificate/7"]);
});

test("no hit says what the term looked like", () => {
  assert.deepEqual(routeSearch(H32, []), { kind: "none", term: H32, shape: "bytes32" });
  assert.deepEqual(routeSearch("hello world", []), { kind: "none", term: "hello world", shape: "unknown" });
  assert.deepEqual(routeSearch("", []), { kind: "empty" });
});

test("every kind of hit has its page in the route map", () => {
  const hits: SearchHit[] = [
    { kind: "facility", id: H32, label: "" },
    { kind: "device", id: H32, label: "" },
    { kind: "transaction", id: H32, label: "" },
    { kind: "reading", id: H32, label: "", attestationId: H32b },
    { kind: "bundle", id: "bafkreiabc", label: "", attestationId: H32b },
  ];
  assert.deepEqual(hits.map(hitHref), [
    `/explorer/facilities/${H32}`,
    `/explorer/devices/${H32}`,
    `/explorer/tx/${H32}`,
    `/audit/reading/${H32}`,
    `/explorer/attestations/${H32b}`,
  ]);
});

test("terms are trimmed and CIDs lose their ipfs:// or /ipfs/ wrapper", () => {
  assert.equal(normaliseTerm("  65538 \n"), "65538");
  assert.equal(normaliseTerm("ipfs://bafkreigh2akiscaild"), "bafkreigh2akiscaild");
  assert.equal(normaliseTerm("/ipfs/bafkreigh2akiscaild"), "bafkreigh2akiscaild");
  assert.equal(normaliseTerm('"ktda-gitugi"'), "ktda-gitugi");
});

test("classifies the forms an auditor holds", () => {
  assert.equal(termShape(H32), "bytes32");
  assert.equal(termShape(ADDR), "address");
  assert.equal(termShape("65538"), "decimal");
  assert.equal(termShape(`bafkrei${"a".repeat(52)}`), "cid");
  assert.equal(termShape("kangaita-chimney-1"), "protocolId");
  assert.equal(termShape("0xABC"), "unknown");
  assert.equal(termShape("Kangaita Factory"), "unknown");
  assert.equal(termShape(""), "empty");
});

test("facility and device pages are addressed by their protocol id when the key is one", () => {
  const key = `0x${Buffer.from("ktda-gitugi").toString("hex").padEnd(64, "0")}` as const;
  assert.equal(protocolIdFromKey(key), "ktda-gitugi");
  assert.equal(protocolIdFromKey(H32), undefined);
  assert.equal(hitHref({ kind: "facility", id: key, label: "" }), "/explorer/facilities/ktda-gitugi");
  assert.equal(hitHref({ kind: "device", id: H32, label: "" }), `/explorer/devices/${H32}`);
});
