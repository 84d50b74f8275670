/**
 * @carbonproof/sdk — browser-safe entry. Nothing here touches node:fs or other
 * Node-only modules; those live in `./node.ts`.
 */
export { SdkError, type SdkErrorCode } from './errors.ts'
export { bytesToHex, hexToBytes, toBytes, compareBytes, type Hex } from './hex.ts'
export { ID_PATTERN, isValidId, assertValidId, idToBytes32, bytes32ToId } from './ids.ts'
export * from './reading/schema.ts'
export { parseReading, parseEnvelope, formatIssues, type InputIssue } from './reading/parse.ts'
export { canonicalJson, canonicalBytes, assertIntegerJson } from './reading/canonical.ts'
export { sha256Bytes, readingDigest, readingDigestHex } from './reading/digest.ts'
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
} from './reading/sign.ts'
export * from './merkle/index.ts'
export * from './eip712/batchHeader.ts'
