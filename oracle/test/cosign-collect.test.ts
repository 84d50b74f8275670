/**
 * The lead's side of co-signing (quorum/cosign.ts collectCosignatures): what it keeps of its peers'
 * answers. The peers are HTTP stand-ins on loopback answering what a peer may answer (a signature
 * with v 0/1 as a KMS or HSM signer gives it, the high-s twin of a valid one, a v no curve knows):
 * they stand for co-signing nodes, whose honest answers quorum.test.ts covers on Hardhat.
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, test } from "node:test";
import { privateKeyToAccount } from "viem/accounts";
import type { Address, Hex } from "viem";
import {
  idToBytes32,
  recoverBatchHeaderSigner,
  signBatchHeader,
  verifyBatchHeaderSignature,
  ZERO_BYTES32,
  type BatchHeader,
} from "../../sdk/src/index.ts";
import { collectCosignatures } from "../src/quorum/cosign.ts";

// TEST-ONLY keys (Hardhat's well-known default accounts #1 and #2); never hold value.
const B = privateKeyToAccount("0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d");
const C = privateKeyToAccount("0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a");
/** The lead: Hardhat's default account #0 (TEST-ONLY). */
const A = privateKeyToAccount("0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80");
const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

const header: BatchHeader = {
  facilityId: idToBytes32("ktda-kangaita"),
  periodStart: 1763900000n,
  periodEnd: 1763903600n,
  merkleRoot: `0x${"ab".repeat(32)}`,
  readingCount: 720,
  fossilCo2eGrams: 302564n,
  biogenicCo2Grams: 12n,
  methodologyId: `0x${"01".repeat(32)}`,
  factorSetId: `0x${"02".repeat(32)}`,
  bundleCid: "bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy",
  correctionOf: ZERO_BYTES32,
};
const domain = { chainId: 31337, verifyingContract: "0x5FbDB2315678afecb367f032d93F642f64180aa3" as Address };

/** The high-s twin of a low-s signature: s → n − s, v flipped; it recovers to the same signer. */
function twin(sig: Hex): Hex {
  const s = N - BigInt(`0x${sig.slice(66, 130)}`);
  const v = parseInt(sig.slice(130), 16) === 27 ? 28 : 27;
  return `0x${sig.slice(2, 66)}${s.toString(16).padStart(64, "0")}${v.toString(16)}` as Hex;
}

const servers: Server[] = [];
/** The bodies the stand-in peers were sent. */
const received: Record<string, unknown>[] = [];
/** A stand-in peer answering every request `answer` with `status`. */
async function peer(
  answer: { signer: Address; signature: Hex } | { error: string; message: string },
  status = 200,
): Promise<string> {
  const server = createServer((req, res) => {
    let text = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => (text += chunk));
    req.on("end", () => {
      received.push(JSON.parse(text) as Record<string, unknown>);
      res.statusCode = status;
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify(answer));
    });
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

let aSig: Hex;
let bSig: Hex;
let cSig: Hex;
before(async () => {
  aSig = await signBatchHeader(A, header, domain);
  bSig = await signBatchHeader(B, header, domain);
  cSig = await signBatchHeader(C, header, domain);
});
after(() => Promise.all(servers.map((s) => new Promise((r) => s.close(r)))));

/** The lead A's header, signed by A, sent to `peers` (every signer counted an active oracle). */
const collectFrom = (peers: { url: string }[]) =>
  collectCosignatures({
    peers,
    header,
    bundle: new Uint8Array([1]),
    domain,
    self: A.address,
    signature: aSig,
    isActiveOracle: async () => true,
    timeoutMs: 5_000,
  });

test("collectCosignatures sends each peer the lead's own signature of the header and the registry it signs for; keeps a peer's v-0/1 and high-s signatures in the form the OracleSet takes, and names a peer whose v is none", async () => {
  const yParity = `${bSig.slice(0, 130)}0${parseInt(bSig.slice(130), 16) - 27}` as Hex;
  const high = twin(cSig);
  // the peers' forms recover to their signers (as viem recovers): the OracleSet alone refuses them
  assert.ok(await verifyBatchHeaderSignature(header, domain, high, C.address));
  const peers = [
    { url: await peer({ signer: B.address, signature: yParity }) },
    { url: await peer({ signer: C.address, signature: high }) },
    { url: await peer({ signer: C.address, signature: `${cSig.slice(0, 130)}05` as Hex }) },
  ];
  const { signed, problems } = await collectFrom(peers);
  // what a co-signer checks before it reviews anything: the registry, and that the lead is an oracle node
  assert.equal(received.length, peers.length);
  for (const body of received) {
    assert.deepEqual(Object.keys(body).sort(), ["bundle", "domain", "header", "signature"]);
    assert.deepEqual(body.domain, domain);
    assert.equal(await recoverBatchHeaderSigner(header, domain, body.signature as Hex), A.address);
  }
  const bySigner = new Map(signed.map((s) => [s.signer, s.signature]));
  assert.equal(bySigner.get(B.address), bSig, "B's, v 27/28");
  assert.equal(bySigner.get(C.address), cSig, "C's, low s");
  assert.deepEqual(problems, [`${peers[2]!.url}: the signature's v is 5, not 0, 1, 27 or 28`]);
});

test("collectCosignatures quotes a peer's refusal (its 5xx answer's message, which the batch error and the log quote) to its first 500 characters, saying how long it was, so a peer answering a megabyte puts no megabyte into either", async () => {
  const why = "COSIGN_RETRY_LATER: reading the OracleSet failed at https://rpc.example/…; ";
  const huge = why + "x".repeat(2 ** 20 - why.length);
  const emoji = `${"a".repeat(499)}😀${"b".repeat(100)}`; // its 500th character is half of 😀
  const peers = [
    { url: await peer({ error: "COSIGN_RETRY_LATER", message: huge }, 503) },
    { url: await peer({ error: "COSIGN_RETRY_LATER", message: "the RPC node is down" }, 503) },
    { url: await peer({ error: "COSIGN_RETRY_LATER", message: "y".repeat(500) }, 503) },
    { url: await peer({ error: "COSIGN_RETRY_LATER", message: emoji }, 503) },
  ];
  const { signed, problems } = await collectFrom(peers);
  assert.deepEqual(signed, []);
  const said = (url: string) => problems.find((p) => p.startsWith(`${url}: `)) ?? "";
  const cut = `${peers[0]!.url}: 503 ${huge.slice(0, 500)}… (1048576 characters)`;
  assert.equal(said(peers[0]!.url).length, cut.length, "the megabyte is cut");
  assert.equal(said(peers[0]!.url), cut);
  assert.equal(said(peers[1]!.url), `${peers[1]!.url}: 503 the RPC node is down`);
  assert.equal(said(peers[2]!.url), `${peers[2]!.url}: 503 ${"y".repeat(500)}`, "500 characters are quoted whole");
  assert.equal(said(peers[3]!.url), `${peers[3]!.url}: 503 ${"a".repeat(499)}… (601 characters)`, "no half 😀");
  assert.equal(problems.length, peers.length);
});
