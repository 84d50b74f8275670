import type { Logger } from "pino";
import type { PublicClient } from "viem";
import { bytes32ToId, idToBytes32, publicKeyFromXY } from "../../../sdk/src/index.ts";
import { deviceRegistryAbi } from "../chain/abi.ts";
import type { DeviceDirectory, DeviceInfo } from "./directory.ts";

const STATUS = ["none", "active", "suspended", "revoked"] as const;

/**
 * Devices read from the DeviceRegistry contract, cached, and dropped from the cache when the
 * registry emits an event about them (registration, suspension, reactivation, key rotation,
 * retirement) or after `ttlMs` whichever comes first. Unknown devices are cached too, so a
 * flood of readings from an unregistered id costs one RPC call per TTL.
 */
export class ChainDeviceDirectory implements DeviceDirectory {
  readonly #client: PublicClient;
  readonly #address: `0x${string}`;
  readonly #ttlMs: number;
  readonly #log: Logger;
  readonly #cache = new Map<string, { at: number; value: Promise<DeviceInfo | null> }>();
  #unwatch: (() => void) | null = null;

  constructor(opts: { client: PublicClient; address: `0x${string}`; ttlMs: number; logger: Logger; pollMs?: number }) {
    this.#client = opts.client;
    this.#address = opts.address;
    this.#ttlMs = opts.ttlMs;
    this.#log = opts.logger.child({ part: "devices" });
    this.#unwatch = this.#client.watchContractEvent({
      address: this.#address,
      abi: deviceRegistryAbi,
      pollingInterval: opts.pollMs ?? 1000,
      onLogs: (logs) => {
        for (const log of logs) {
          const id = (log.args as { id?: `0x${string}` }).id;
          if (!id) continue;
          try {
            const deviceId = bytes32ToId(id);
            this.invalidate(deviceId);
            this.#log.info({ device: deviceId, event: log.eventName }, "device changed on-chain; cache dropped");
          } catch (err) {
            this.#log.warn({ err, id }, "DeviceRegistry event with an id that is not a protocol id");
          }
        }
      },
      onError: (err) =>
        this.#log.warn({ err: err.message }, "watching DeviceRegistry events failed; relying on the TTL"),
    });
  }

  get(deviceId: string): Promise<DeviceInfo | null> {
    const hit = this.#cache.get(deviceId);
    const now = Date.now();
    if (hit && now - hit.at < this.#ttlMs) return hit.value;
    const value = this.#load(deviceId);
    this.#cache.set(deviceId, { at: now, value });
    // an RPC failure is not an answer: do not cache it
    value.catch(() => this.#cache.delete(deviceId));
    return value;
  }

  async #load(deviceId: string): Promise<DeviceInfo | null> {
    let d;
    try {
      d = await this.#client.readContract({
        address: this.#address,
        abi: deviceRegistryAbi,
        functionName: "getDevice",
        args: [idToBytes32(deviceId)],
      });
    } catch (err) {
      if (/DeviceRegistryUnknownDevice|reverted/i.test(String((err as Error).message))) return null;
      throw err;
    }
    const keys = d.keys.map((k, i) => ({
      publicKey: publicKeyFromXY(k.x, k.y),
      validFrom: Number(k.validFrom),
      validUntil: i + 1 < d.keys.length ? Number(d.keys[i + 1]!.validFrom) : null,
    }));
    const status = STATUS[d.status] ?? "revoked";
    return { deviceId, facilityId: bytes32ToId(d.facilityId), status: status === "none" ? "revoked" : status, keys };
  }

  invalidate(deviceId?: string): void {
    if (deviceId === undefined) this.#cache.clear();
    else this.#cache.delete(deviceId);
  }

  close(): void {
    this.#unwatch?.();
    this.#unwatch = null;
  }
}
