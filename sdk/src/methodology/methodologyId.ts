import { bytesToHex, type Hex } from "../hex.ts";
import { sha256Bytes } from "../reading/digest.ts";

/**
 * Methodology id (bytes32 in BatchHeader.methodologyId): SHA-256 of the UTF-8 string
 * `carbonproof:methodology:<name>@<version>`. A change in any formula or rule of
 * docs/methodology.md gets a new version and so a new id.
 */
export const METHODOLOGY_NAME = "carbonproof-readings";
export const METHODOLOGY_VERSION = "1";

export function methodologyId(name: string = METHODOLOGY_NAME, version: string = METHODOLOGY_VERSION): Hex {
  return bytesToHex(sha256Bytes(new TextEncoder().encode(`carbonproof:methodology:${name}@${version}`)));
}

export const METHODOLOGY_ID: Hex = methodologyId();

export const METHODOLOGY_CITATIONS = {
  flueGas: [
    'docs/protocol.md "Flue-gas CO2 mass of one reading": m = v·(πd²/4)·ppm·10⁻⁶·P·M/(R·T)·Δt, floored to mg',
    "M(CO2) = 44.0095 g/mol (IUPAC 2005 standard atomic weights: C 12.0107, O 15.9994; Pure Appl. Chem. 78, 2051–2066, 2006)",
    "R = 8.314462618 J/(mol·K) (CODATA 2018, exact in SI 2019)",
  ],
} as const;
