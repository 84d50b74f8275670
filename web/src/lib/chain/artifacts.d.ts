// Interim typing of the Hardhat artifacts aliased in next.config.ts (see abis.ts).
declare module "@cp-artifacts/*" {
  const artifact: { contractName: string; abi: import("viem").Abi };
  export default artifact;
}
