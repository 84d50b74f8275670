/**
 * Debian packages a test, bench or script needs, installed the way the house rules ask: with
 * apt-get (`update` first), as root, only when the command is missing. Used by the oracle's
 * external-broker tests and bench (Mosquitto) and the web's browser tests (Chromium);
 * firmware/test.sh does the same in bash.
 */
import { spawnSync } from "node:child_process";

/** Serialises this project's apt-get runs across processes (flock). */
const APT_LOCK = "/tmp/carbonproof-apt.lock";

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
  // Test files running at once may each install a package (PostgreSQL for several of the
  // oracle's): one apt-get at a time (flock), and each waits for dpkg's lock rather than failing.
  const locked = runs("flock", ["--version"]);
  for (const args of [
    ["-o", "DPkg::Lock::Timeout=600", "update", "-qq"],
    ["-o", "DPkg::Lock::Timeout=600", "install", "-y", "-qq", opts.pkg],
  ]) {
    const [cmd, argv] = locked ? ["flock", [APT_LOCK, "apt-get", ...args]] : ["apt-get", args];
    const r = spawnSync(cmd, argv, {
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
