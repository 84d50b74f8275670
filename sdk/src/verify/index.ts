export { attestationRegistryAbi, deviceRegistryAbi, oracleSetAbi } from "./abi.ts";
export { gatewaySource, bytesSource, mapSource, type BundleSource } from "./sources.ts";
export {
  verifyAttestation,
  bundleReadingKeys,
  type VerifyOptions,
  type VerifyReport,
  type VerifyTarget,
} from "./verifyAttestation.ts";
export { verifyCredit, verifyRetirement, type CreditReport, type CreditVerifyOptions } from "./verifyCredit.ts";
export {
  createVerifyCache,
  type VerifyCache,
  type BundleReadingKeys,
  type DeviceEntry,
  type Submitted,
} from "./cache.ts";
export {
  defaultSignatureVerifier,
  nobleSignatureVerifier,
  webCryptoSignatureVerifier,
  type SignatureBatchVerifier,
  type SignatureItem,
} from "./signatures.ts";
export {
  verifyLineage,
  lineageChecks,
  type LineageOptions,
  type LineageReport,
  type LineageSection,
  type LineageTarget,
} from "./verifyLineage.ts";
export {
  projectShortfalls,
  type ProjectShortfalls,
  type ShortfallOptions,
  type UnrecordedShortfall,
  type UnrecordedCorrection,
} from "./shortfalls.ts";
