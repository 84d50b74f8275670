/**
 * @carbonproof/sdk/node — everything in the browser-safe entry plus Node-only helpers
 * (files, key stores).
 */
export * from "./index.ts";
export { nativeSha256 } from "./reading/nodeHash.ts";
export { fileSource, folderSource } from "./verify/fileSource.ts";
export { heliaRepoSource } from "./verify/heliaRepoSource.ts";
export { ignitionStartBlocks } from "./chain/ignitionStartBlocks.ts";
export { SignatureVerifier, referenceVerify } from "./reading/nodeVerifier.ts";
