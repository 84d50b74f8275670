/**
 * Fault injection for the crash-recovery test: with CARBONPROOF_ORACLE_CRASH_AT=<point> the
 * process SIGKILLs itself the first time it reaches that point (right after the durable
 * state change), which is where a real crash hurts most. Unset in production: a no-op.
 */
const point = process.env.CARBONPROOF_ORACLE_CRASH_AT;

export function crashPoint(name: string): void {
  if (point !== undefined && point === name) process.kill(process.pid, "SIGKILL");
}
