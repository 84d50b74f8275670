/**
 * Debian packages a test, bench or script needs, installed the way the house rules ask: with
 * apt-get (`update` first), as root, only when the command is missing. Used by the oracle's
 * external-broker tests and bench (Mosquitto) and the web's browser tests (Chromium);
 * firmware/test.sh does the same in bash.
 */
import { spawnSync } from "node:child_process";

/** Whether `bin` runs (`args` must make it exit without doing anything, e.g. `-h`, `--version`). */
function runs(bin: string, args: string[]): boolean {
  return spawnSync(bin, args, { stdio: "ignore" }).error === undefined;
}

/**
 * The first of `bins` that runs; when none does and this process is root, `apt-get install pkg`
 * and the first that runs after that. Throws with what to do when it cannot: not root, or apt-get
 * failed. `log` is told before an install (it takes a while).
 */
export function ensureDebianCommand(opts: {
  bins: string[];
  args: string[];
  pkg: string;
  log?: (line: string) => void;
}): string {
  const found = () => opts.bins.find((b) => runs(b, opts.args));
  const present = found();
  if (present) return present;
  if (process.getuid?.() !== 0)
    throw new Error(`${opts.bins[0]} is not installed: install it (apt-get install ${opts.pkg}) or run this as root`);
  opts.log?.(`${opts.bins[0]} is missing: installing Debian's ${opts.pkg} with apt-get`);
  for (const args of [
    ["update", "-qq"],
    ["install", "-y", "-qq", opts.pkg],
  ]) {
    const r = spawnSync("apt-get", args, {
      stdio: ["ignore", "inherit", "inherit"],
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    });
    if (r.status !== 0)
      throw new Error(`apt-get ${args.join(" ")} failed (exit ${r.status}): install ${opts.pkg} by hand`);
  }
  const installed = found();
  if (!installed) throw new Error(`apt-get installed ${opts.pkg} but none of ${opts.bins.join(", ")} runs`);
  return installed;
}
