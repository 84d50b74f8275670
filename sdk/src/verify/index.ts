export { attestationRegistryAbi, deviceRegistryAbi, oracleSetAbi } from "./abi.ts";
export { gatewaySource, bytesSource, mapSource, type BundleSource } from "./sources.ts";
export { verifyAttestation, type VerifyOptions, type VerifyReport, type VerifyTarget } from "./verifyAttestation.ts";
export { verifyCredit, verifyRetirement, type CreditReport, type CreditVerifyOptions } from "./verifyCredit.ts";
