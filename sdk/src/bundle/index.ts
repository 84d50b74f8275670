export {
  BUNDLE_FORMAT,
  TREE_PARAMS,
  bundleSchema,
  facilityContextSchema,
  type Bundle,
  type BundleReading,
} from "./schema.ts";
export {
  buildBundle,
  encodeBundle,
  decodeBundle,
  bundleCid,
  bundleHeader,
  RAW_CODEC,
  SHA2_256,
  type BuildBundleInput,
} from "./bundle.ts";
export {
  BundleAssembler,
  assembleBundle,
  type AssembleBundleInput,
  type AssembledBundle,
  type BundleAssemblerInput,
  type CanonicalEnvelope,
} from "./assemble.ts";
export { checkBundle, type LinkCheck } from "./check.ts";
