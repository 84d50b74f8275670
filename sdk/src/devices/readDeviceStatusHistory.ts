import type { Address, PublicClient } from "viem";
import { deviceRegistryAbi } from "../contracts/generated.ts";
import { idToBytes32 } from "../ids.ts";
import { deviceStatusFromRegistry, type DeviceStatusHistory } from "./inactiveAt.ts";
import { readDeviceSuspensions, type ReadDeviceSuspensionsParameters } from "./readDeviceSuspensions.ts";

/** What of DeviceRegistry's `getDevice` a status history is made from. */
export type RegisteredDeviceStatus = { status: number; registeredAt: bigint; statusChangedAt: bigint };

/**
 * Device `deviceId`'s status history on the DeviceRegistry at `address`: its current status and
 * `statusChangedAt` from `getDevice` (or from `device`, a `getDevice` answer the caller has, then
 * not asked again), and its past suspensions from the registry's events
 * ({@link readDeviceSuspensions}); what `deviceInactiveAt` judges a reading against.
 * Rejects as `getDevice` does for a device the registry does not know.
 */
export async function readDeviceStatusHistory(
  client: PublicClient,
  p: Omit<ReadDeviceSuspensionsParameters, "registeredAt" | "statusChangedAt"> & { device?: RegisteredDeviceStatus },
): Promise<DeviceStatusHistory> {
  const { device: given, ...read } = p;
  const device =
    given ??
    (await client.readContract({
      address: p.address,
      abi: deviceRegistryAbi,
      functionName: "getDevice",
      args: [idToBytes32(p.deviceId)],
    }));
  const registeredAt = Number(device.registeredAt);
  const statusChangedAt = Number(device.statusChangedAt);
  const suspensions = await readDeviceSuspensions(client, { ...read, registeredAt, statusChangedAt });
  return {
    deviceId: p.deviceId,
    status: deviceStatusFromRegistry(device.status),
    statusChangedAt,
    ...(suspensions.length > 0 ? { suspensions } : {}),
  };
}
