import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { hardhatRpcReady } from "./ports.ts";
import {
  createPublicClient,
  createWalletClient,
  http,
  keccak256,
  toHex,
  type Abi,
  type Address,
  type Hex,
  type PublicClient,
} from "viem";
import { privateKeyToAccount } from "viem/accounts";

/**
 * A real Hardhat JSON-RPC node (`hardhat node` from the repository root) with the
 * compiled contracts deployed from the build artifacts — the test stand-in for the
 * Ignition deployment, using the same bytecode.
 */
const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const HARDHAT = `${ROOT}node_modules/hardhat/dist/src/cli.js`;

/** Hardhat's default dev accounts (public mnemonic "test test … junk"): TEST-ONLY keys. */
export const TEST_ONLY_HARDHAT_KEYS: Hex[] = [
  "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
  "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
  "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
  "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
];

function artifact(path: string): { abi: Abi; bytecode: Hex } {
  const file = `${ROOT}artifacts/contracts/${path}`;
  if (!existsSync(file)) {
    const r = spawnSync(process.execPath, [HARDHAT, "build", "--quiet"], { cwd: ROOT, stdio: "inherit" });
    if (r.status !== 0) throw new Error(`hardhat build failed (${r.status}); artifacts needed for ${path}`);
  }
  const json = JSON.parse(readFileSync(file, "utf8"));
  return { abi: json.abi, bytecode: json.bytecode };
}

export type TestChain = {
  rpcUrl: string;
  /** Deploys CarbonCredits (challenge window 0) and RetirementCertificates, wired together; admin = key #0. */
  deployCredits: () => Promise<{ credits: Address; certificates: Address }>;
  client: PublicClient;
  registry: Address;
  deviceRegistry: Address;
  oracleSet: Address;
  stop: () => Promise<void>;
  write: (key: Hex, address: Address, abi: Abi, functionName: string, args: unknown[]) => Promise<Hex>;
};

export async function startTestChain(): Promise<TestChain> {
  const registryArt = artifact("attestation/AttestationRegistry.sol/AttestationRegistry.json");
  const oracleArt = artifact("oracles/OracleSet.sol/OracleSet.json");
  const deviceArt = artifact("devices/DeviceRegistry.sol/DeviceRegistry.json");
  // port 0: the kernel picks the port as Hardhat binds it (hardhatListeningPort in ports.ts says why)
  const child: ChildProcess = spawn(process.execPath, [HARDHAT, "node", "--hostname", "127.0.0.1", "--port", "0"], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  try {
    const rpcUrl = await hardhatRpcReady(child, { timeoutMs: 120_000, pollMs: 250 });
    const client = createPublicClient({ transport: http(rpcUrl) });
    const chainId = await client.getChainId();
    const chain = {
      id: chainId,
      name: "hardhat",
      nativeCurrency: { name: "ETH", symbol: "ETH", decimals: 18 },
      rpcUrls: { default: { http: [rpcUrl] } },
    } as const;
    const wallet = (key: Hex) =>
      createWalletClient({ account: privateKeyToAccount(key), chain, transport: http(rpcUrl) });
    const admin = TEST_ONLY_HARDHAT_KEYS[0]!;
    const deploy = async (art: { abi: Abi; bytecode: Hex }, args: unknown[]): Promise<Address> => {
      const hash = await wallet(admin).deployContract({ abi: art.abi, bytecode: art.bytecode, args });
      const receipt = await client.waitForTransactionReceipt({ hash });
      if (!receipt.contractAddress) throw new Error("deployment without address");
      return receipt.contractAddress;
    };
    const write = async (key: Hex, address: Address, abi: Abi, functionName: string, args: unknown[]): Promise<Hex> => {
      const hash = await wallet(key).writeContract({ address, abi, functionName, args });
      const receipt = await client.waitForTransactionReceipt({ hash });
      if (receipt.status !== "success") throw new Error(`${functionName} reverted`);
      return hash;
    };
    const adminAddress = privateKeyToAccount(admin).address;
    const nodes = TEST_ONLY_HARDHAT_KEYS.slice(1).map((k) => privateKeyToAccount(k).address);
    const deviceRegistry = await deploy(deviceArt, [adminAddress]);
    const oracleSet = await deploy(oracleArt, [adminAddress, nodes, 2]);
    const registry = await deploy(registryArt, [adminAddress, oracleSet]);
    await write(admin, deviceRegistry, deviceArt.abi, "grantRole", [
      keccak256(toHex("DEVICE_MANAGER_ROLE")),
      adminAddress,
    ]);
    const deployCredits = async () => {
      const creditsArt = artifact("credits/CarbonCredits.sol/CarbonCredits.json");
      const certArt = artifact("retirement/RetirementCertificates.sol/RetirementCertificates.json");
      const credits = await deploy(creditsArt, [registry, adminAddress, 0]);
      const certificates = await deploy(certArt, [credits, adminAddress]);
      await write(admin, credits, creditsArt.abi, "setCertificates", [certificates]);
      await write(admin, credits, creditsArt.abi, "grantRole", [keccak256(toHex("VERIFIER_ROLE")), adminAddress]);
      return { credits, certificates };
    };
    return {
      rpcUrl,
      deployCredits,
      client,
      registry,
      deviceRegistry,
      oracleSet,
      write,
      stop: async () => {
        if (child.exitCode !== null || child.signalCode !== null) return; // gone already: no exit to wait for
        child.kill("SIGTERM");
        await new Promise((r) => child.once("exit", r));
      },
    };
  } catch (cause) {
    child.kill("SIGKILL"); // a node that never answered, or a deployment that failed: not left running
    throw cause;
  }
}
