import assert from "node:assert/strict";
import { test } from "node:test";
import { deviceInactiveAt, deviceStatusFromRegistry, inactiveAt, type DeviceStatusHistory } from "./inactiveAt.ts";

const device = (over: Partial<DeviceStatusHistory>): DeviceStatusHistory => ({
  deviceId: "kangaita-chimney-1",
  status: "active",
  ...over,
});
const past = [
  { from: 1_000, until: 2_000 },
  { from: 3_000, until: 3_500 },
];

test("deviceInactiveAt refuses a reading stamped inside a past suspension, from its start, and not at its end", () => {
  const d = device({ statusChangedAt: 3_500, suspensions: past });
  assert.deepEqual(deviceInactiveAt(d, 1_000), {
    deviceId: "kangaita-chimney-1",
    ts: 1_000,
    status: "suspended",
    from: 1_000,
    until: 2_000,
  });
  assert.deepEqual(deviceInactiveAt(d, 3_499), { ...deviceInactiveAt(d, 3_000)!, ts: 3_499 });
  for (const ts of [0, 999, 2_000, 2_999, 3_500, 10_000]) assert.equal(deviceInactiveAt(d, ts), null, `ts ${ts}`);
});

test("deviceInactiveAt refuses readings from a suspension or retirement under way on, and keeps those made before", () => {
  const suspended = device({ status: "suspended", statusChangedAt: 5_000, suspensions: past });
  assert.equal(deviceInactiveAt(suspended, 4_999), null, "made before the suspension");
  assert.deepEqual(deviceInactiveAt(suspended, 5_000), {
    deviceId: "kangaita-chimney-1",
    ts: 5_000,
    status: "suspended",
    since: 5_000,
  });
  assert.match(inactiveAt(suspended, 1_500)!, /was suspended from 1000 until 2000/, "and inside the old one");
  const retired = device({ status: "revoked", statusChangedAt: 2_000 });
  assert.equal(deviceInactiveAt(retired, 1_999), null);
  assert.equal(
    inactiveAt(retired, 2_000),
    "device kangaita-chimney-1 is revoked since 2000 (the reading is stamped 2000)",
  );
  assert.equal(
    inactiveAt(device({ status: "suspended" }), 0),
    "device kangaita-chimney-1 is suspended",
    "since unknown",
  );
  assert.equal(deviceInactiveAt(device({}), 1_500), null, "active, no suspensions");
  assert.equal(deviceInactiveAt(device({ suspensions: [] }), 1_500), null, "an empty list");
});

test("deviceStatusFromRegistry: 1 active, 2 suspended, 3 retired and 0 (never registered) revoked", () => {
  assert.deepEqual([0, 1, 2, 3, 4].map(deviceStatusFromRegistry), [
    "revoked",
    "active",
    "suspended",
    "revoked",
    "revoked",
  ]);
});
