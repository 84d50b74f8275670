/**
 * CarbonCredits.CHALLENGE_RESOLUTION_PERIOD in days: a challenge still pending this long after its
 * challenge window no longer shields its period from recordShortfall (a correction: from
 * recordCorrection), which settles the period and leaves the challenge unresolvable (docs/credits.md). challenges.test.ts checks it against the contract.
 */
export const CHALLENGE_LAPSE_DAYS = 30;
