import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";
import type { Address } from "viem";
import { bundleSourceOf, pickAddresses } from "./verify.ts";

const at = (n: number) => `0x${n.toString(16).padStart(40, "0")}` as Address;
/** The generated addresses of a chain: another deployment than the one the user names. */
const deployed = {
  AttestationRegistry: { address: at(1), startBlock: 900 },
  DeviceRegistry: { address: at(2) },
  CarbonCredits: { address: at(3) },
  RetirementCertificates: { address: at(4) },
  Marketplace: { address: at(5) },
};

describe("pickAddresses", () => {
  it("with --registry, takes nothing from generated.ts: no other contract and no startBlock", () => {
    const picked = pickAddresses({ registry: at(11) }, {}, deployed);
    assert.deepEqual(picked, { registry: at(11), registryFrom: "flag" });
  });

  it("with a registry from --addresses, fills only from the file and the flags", () => {
    const picked = pickAddresses({ credits: at(23) }, { registry: at(21), deviceRegistry: at(22) }, deployed);
    assert.deepEqual(picked, {
      registry: at(21),
      deviceRegistry: at(22),
      credits: at(23),
      registryFrom: "file",
    });
  });

  it("a flag wins over the file", () => {
    const picked = pickAddresses({ registry: at(31) }, { registry: at(21), deviceRegistry: at(22) }, deployed);
    assert.deepEqual(picked, { registry: at(31), deviceRegistry: at(22), registryFrom: "flag" });
  });

  it("without a registry, takes the chain's generated deployment and its startBlock; flags still win", () => {
    const picked = pickAddresses({ deviceRegistry: at(42) }, {}, deployed);
    assert.deepEqual(picked, {
      registry: at(1),
      deviceRegistry: at(42),
      credits: at(3),
      certificates: at(4),
      marketplace: at(5),
      startBlock: 900,
      registryFrom: "generated",
    });
    assert.deepEqual(pickAddresses({}, {}, undefined), { registryFrom: "generated" });
  });
});

describe("bundleSourceOf", () => {
  it("notes a gateway's failure without the secrets of a URL its answer quotes, nor of --bundle's or --rpc's", async () => {
    // a gateway in front of another (a pinning service's, with its key) quotes it in its status line
    const server = createServer((_req, res) =>
      res
        .writeHead(
          502,
          "upstream https://other.example/v2/SECRET-KEY and https://user:pw@x.example failed; rpc https://rpc.example/v2/RPC-KEY",
        )
        .end(),
    );
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const gateway = `http://127.0.0.1:${(server.address() as AddressInfo).port}/gw/GATEWAY-KEY`;
    try {
      const { source, unavailable } = bundleSourceOf(gateway, ["https://rpc.example/v2/RPC-KEY"]);
      await assert.rejects(source.get("bafkreiaaaa"));
      assert.deepEqual(unavailable, [
        "HTTP 502 upstream https://other.example/… and https://x.example/… failed; rpc https://rpc.example/…",
      ]);
    } finally {
      server.close();
    }
  });
});
