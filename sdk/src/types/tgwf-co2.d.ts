// @tgwf/co2 ships no type definitions; the part the sdk reads, typed.
declare module '@tgwf/co2/data' {
  export const averageIntensity: { data: Record<string, number>; type: string }
}
