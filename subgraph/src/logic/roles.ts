/**
 * Names of the AccessControl roles of the CarbonProof contracts, by their bytes32 value
 * (keccak256 of the name; DEFAULT_ADMIN_ROLE is zero). AssemblyScript-compatible (see time.ts).
 */

const ROLE_HASHES: string[] = [
  "0x0000000000000000000000000000000000000000000000000000000000000000",
  "0x20c605fd0c297c12fdef1ea05fc5e693eeeda1f5ffb147a823a0db69c8bbea9e",
  "0x0ce23c3e399818cfee81a7ab0880f714e53d7672b08df0fa62f2843416e1ea09",
  "0x65d7a28e3265b37a6474929f336521b332c1681b933f6cb9f3376673440d862a",
  "0x59a1c48e5837ad7a7f3dcedcbe129bf3249ec4fbf651fd4f5e2600ead39fe2f5",
  "0xbb08418a67729a078f87bbc8d02a770929bb68f5bfdf134ae2ead6ed38e2f4ae",
  "0x2fdac322ee704ce09f0773f7f3f92eb98d5e7c836ee9c056cccd5f61041e5e3f",
];

const ROLE_NAMES: string[] = [
  "DEFAULT_ADMIN_ROLE",
  "DEVICE_MANAGER_ROLE",
  "VERIFIER_ROLE",
  "PAUSER_ROLE",
  "AUDITOR_ROLE",
  "ARBITER_ROLE",
  "ESCROW_ROLE",
];

/** The role's name for a lower-case 0x-hex bytes32, or "" for a role this project does not define. */
export function roleName(roleHex: string): string {
  for (let i = 0; i < ROLE_HASHES.length; i++) {
    if (ROLE_HASHES[i] == roleHex) return ROLE_NAMES[i];
  }
  return "";
}
