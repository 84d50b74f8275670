import type { Reading } from "../reading/schema.ts";

/** The example reading of docs/protocol.md "Reading (version 1)". */
export const protocolExampleReading: Reading = {
  v: 1,
  deviceId: "kangaita-chimney-1",
  facilityId: "ktda-kangaita",
  seq: 42,
  ts: 1763900000,
  intervalS: 5,
  kind: "flue-gas",
  m: { co2Ppm: 41000, tempCentiC: 18550, velocityMmS: 6200, pressurePa: 101325, ductDiameterMm: 600 },
};
