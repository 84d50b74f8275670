/**
 * @carbonproof/sdk — browser-safe entry. Nothing here touches node:fs or other
 * Node-only modules; those live in `./node.ts`.
 */
export { SdkError, type SdkErrorCode } from "./errors.ts";
export { bytesToHex, hexToBytes, toBytes, compareBytes, type Hex } from "./hex.ts";
export { ID_PATTERN, isValidId, assertValidId, idToBytes32, bytes32ToId } from "./ids.ts";
export * from "./reading/schema.ts";
export { parseReading, parseEnvelope, formatIssues, type InputIssue } from "./reading/parse.ts";
export { canonicalJson, canonicalBytes, assertIntegerJson } from "./reading/canonical.ts";
export { sha256Bytes, readingDigest, readingDigestHex } from "./reading/digest.ts";
export {
  generateDeviceKey,
  publicKeyOf,
  signDigest,
  verifyDigest,
  normalizeLowS,
  signReading,
  verifyEnvelope,
  publicKeyToXY,
  publicKeyFromXY,
  secretKeyToPem,
  secretKeyFromPem,
  publicKeyToPem,
  publicKeyFromPem,
  P256_N,
  P256_HALF_N,
  type DeviceKeyPair,
} from "./reading/sign.ts";
export * from "./merkle/index.ts";
export * from "./eip712/batchHeader.ts";
export { flueGasCo2Mg } from "./methodology/flueGas.ts";
export {
  computeReading,
  computeFuel,
  computeElectricity,
  computeFlueGas,
  fuelEnergyKj,
  batchTotals,
  type FacilityContext,
  type ReadingResult,
} from "./methodology/compute.ts";
export { METHODOLOGY_ID, METHODOLOGY_NAME, METHODOLOGY_VERSION, methodologyId } from "./methodology/methodologyId.ts";
export {
  FACTOR_SET_FORMAT,
  factorSetContentSchema,
  factorSetId,
  parseFactorSet,
  defaultFactorSet,
  withSpendFactors,
  type FactorSet,
  type FactorSetContent,
  type FuelFactor,
  type DefaultFactorSetOptions,
} from "./factors/factorSet.ts";
export { GWP_TABLES, type GwpReport, type GwpTable } from "./factors/gwp.ts";
export { IPCC_2006_FUELS, FUEL_ALIASES, type IpccFuelId, type StationarySector } from "./factors/ipcc2006.ts";
export { EMBER_CITATION, TGWF_CO2_VERSION, emberGridMgPerKwh } from "./factors/grid.ts";
export { parseCsv, parseCsvRecords, type CsvRecord } from "./factors/csv.ts";
export * from "./reading/csv.ts";
export * from "./bundle/index.ts";
export * from "./verify/index.ts";
export { chainFor } from "./chain.ts";
export { blockRanges, DEFAULT_LOG_RANGE_BLOCKS } from "./chain/blockRanges.ts";
export { readContractEvents, type QuerySlot, type ReadContractEventsParameters } from "./chain/readContractEvents.ts";
export { EventRangeError, SDK_EVENT_READ_SETTINGS, type EventReadSettingNames } from "./chain/eventRangeError.ts";
export { startBlocksFromJournal } from "./chain/startBlocksFromJournal.ts";
export { firstStampedFrom } from "./chain/firstStampedFrom.ts";
export { isRevertError, revertName, rpcTransportError } from "./chain/revertName.ts";
export {
  deviceInactiveAt,
  inactiveAt,
  describeDeviceInactivity,
  deviceStatusFromRegistry,
  type DeviceStatus,
  type DeviceStatusHistory,
  type DeviceInactivity,
  type Suspension,
} from "./devices/inactiveAt.ts";
export { readDeviceSuspensions, type ReadDeviceSuspensionsParameters } from "./devices/readDeviceSuspensions.ts";
export { readDeviceStatusHistory, type RegisteredDeviceStatus } from "./devices/readDeviceStatusHistory.ts";
export { urlForMessages, urlScrubber } from "./urls.ts";
