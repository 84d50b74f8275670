/**
 * The IPFS side of `carbonproof-oracle backup --content DIR` and `restore --content DIR`: the
 * blocks a node database names (its batches' evidence bundles, its evidence files), one file per
 * block named by its CID.
 *
 * The database holds only CIDs. A bundle can be built again from the readings, but an evidence
 * file (an invoice, a meter photo) exists nowhere else once its uploader deleted it, so a backup
 * of the database alone would leave a restored node naming files no one holds. Every block the
 * node pins is one raw block (ipfs/store.ts), so a block's file is the file itself, and its name
 * says what its bytes must hash to: each is checked against it when copied and when put back.
 *
 * The copy is incremental: a file already in DIR is complete (each is written under a temporary
 * name, synced, then renamed) and content-addressed, so it is not copied again.
 */
import {
  accessSync,
  closeSync,
  constants as fsConstants,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from "node:fs";
import { basename, dirname, join, sep } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { CID } from "multiformats/cid";
import * as raw from "multiformats/codecs/raw";
import { sha256 } from "multiformats/hashes/sha2";
import { processAlive } from "../pid.ts";
import { rawCid } from "./store.ts";
import { fsyncPath } from "../storage/backup.ts";

/** The CIDs a node database (a backup's copy: one snapshot) names: its bundles' and its evidence files', sorted. */
export function contentCids(databaseFile: string): string[] {
  const db = new DatabaseSync(databaseFile, { readOnly: true });
  try {
    const rows = db
      .prepare(
        `SELECT bundle_cid AS cid FROM batches WHERE bundle_cid IS NOT NULL
         UNION SELECT cid FROM evidence ORDER BY cid`,
      )
      .all() as { cid: string }[];
    return rows.map((r) => r.cid);
  } finally {
    db.close();
  }
}

/** Why `bytes` are not the block `cid` names, or null when they are (a raw block, sha2-256: what the node pins). */
export async function blockMismatch(cid: string, bytes: Uint8Array): Promise<string | null> {
  let c: CID;
  try {
    c = CID.parse(cid);
  } catch {
    return "not a CID";
  }
  if (c.code !== raw.code) return `not a raw block (codec 0x${c.code.toString(16)}): the node pins raw blocks only`;
  if (c.multihash.code !== sha256.code) return `hashed with multihash 0x${c.multihash.code.toString(16)}, not sha2-256`;
  return rawCid(bytes) === c.toV1().toString() ? null : "its bytes do not hash to the CID (corrupt or cut short)";
}

export type ContentBackupReport = {
  dir: string;
  /** CIDs the database names */
  cids: number;
  /** copied by this run */
  copied: number;
  /** in DIR already (an earlier backup) */
  present: number;
  bytes: number;
  /** named by the database, but not in the node's store, or not the bytes their CID says */
  missing: { cid: string; why: string }[];
  /** named by the database, but the store could not be asked (unreachable, refused): run backup again */
  unreadable: { cid: string; why: string }[];
};

/** The file name of the block `cid` names: its CIDv1 in base32, the form the node stores; null if not a CID. */
export function blockFileName(cid: string): string | null {
  try {
    return CID.parse(cid).toV1().toString();
  } catch {
    return null;
  }
}

/**
 * Copies each block of `cids` that DIR lacks from the node's store (`read`) into DIR. A block
 * the store lacks, or whose bytes do not hash to its CID, is listed in `missing`; the rest are
 * copied all the same.
 */
export async function backupContent(opts: {
  cids: string[];
  dir: string;
  read(cid: string): Promise<Uint8Array | null>;
  progress?(done: number, total: number): void;
}): Promise<ContentBackupReport> {
  mkdirSync(opts.dir, { recursive: true });
  // the temporary file of a backup killed outright (its process gone) is removed by the next
  for (const name of readdirSync(opts.dir)) {
    const m = /^\..+\.(\d+)\.partial$/.exec(name);
    if (m && !processAlive(Number(m[1]))) rmSync(join(opts.dir, name), { force: true });
  }
  const report: ContentBackupReport = {
    dir: opts.dir,
    cids: opts.cids.length,
    copied: 0,
    present: 0,
    bytes: 0,
    missing: [],
    unreadable: [],
  };
  let done = 0;
  for (const cid of opts.cids) {
    opts.progress?.(done++, opts.cids.length);
    const name = blockFileName(cid);
    if (name === null) {
      report.missing.push({ cid, why: "the database holds it, but it is not a CID" });
      continue;
    }
    const target = join(opts.dir, name);
    if (existsSync(target)) {
      report.present++;
      continue;
    }
    let bytes: Uint8Array | null;
    try {
      bytes = await opts.read(cid);
    } catch (err) {
      // a store that served bytes other than the block's (a Kubo node checked by KuboStore): asking again reads the same
      if ((err as { code?: string }).code === "IPFS_BLOCK_CORRUPT") {
        report.missing.push({ cid, why: `the store's block: ${(err as Error).message}` });
        continue;
      }
      report.unreadable.push({ cid, why: (err as Error).message });
      continue;
    }
    if (bytes === null) {
      report.missing.push({ cid, why: "not in the node's IPFS store" });
      continue;
    }
    const wrong = await blockMismatch(cid, bytes);
    if (wrong) {
      report.missing.push({ cid, why: `the store's block: ${wrong}` });
      continue;
    }
    try {
      writeDurably(target, bytes);
    } catch (err) {
      // the files copied before it are complete (each synced, then renamed): kept, their renames synced
      try {
        if (report.copied > 0) fsyncPath(opts.dir);
      } catch {
        // the error below says to run backup again, which copies what DIR lacks
      }
      const code = (err as NodeJS.ErrnoException).code;
      throw new Error(
        `cannot write ${target} (${(err as Error).message}): ${code === "ENOSPC" || code === "EDQUOT" ? `free space on the disk of ${opts.dir}` : `check ${opts.dir}`} and run backup again (the ${report.copied} file(s) copied before it stay, and are not copied again)`,
        { cause: err },
      );
    }
    report.copied++;
    report.bytes += bytes.length;
  }
  opts.progress?.(done, opts.cids.length);
  if (report.copied > 0) fsyncPath(opts.dir); // the renames durable
  return report;
}

export type ContentRestoreReport = {
  dir: string;
  blocks: number;
  bytes: number;
  /** CIDs the restored database names that DIR does not hold (pin them from another copy) */
  lacking: string[];
};

/**
 * Puts every block file of DIR into the node's store and pins it (`put`: ContentStore
 * `addAndPin`). Every file is checked first, and nothing is put unless all are the blocks their
 * names say: a file that is not is named, with what to do.
 */
export async function restoreContent(opts: {
  dir: string;
  put(bytes: Uint8Array): Promise<string>;
  /** the CIDs the database being restored names: those DIR lacks are reported */
  cids?: string[];
  progress?(done: number, total: number): void;
}): Promise<ContentRestoreReport> {
  if (!existsSync(opts.dir) || !statSync(opts.dir).isDirectory())
    throw new Error(`no content backup at ${opts.dir}: give the directory \`backup --content\` wrote`);
  const names = readdirSync(opts.dir).filter((n) => !n.startsWith("."));
  const wrong: string[] = [];
  for (const name of names) {
    const file = join(opts.dir, name);
    const why = !statSync(file).isFile()
      ? "not a file"
      : blockFileName(name) !== name
        ? "not a CIDv1 in base32, as backup names its files"
        : await blockMismatch(name, readFileSync(file));
    if (why) wrong.push(`${name} (${why})`);
  }
  if (wrong.length)
    throw new Error(
      `${wrong.length} file(s) in ${opts.dir} are not the block their name says: ${wrong.slice(0, 5).join("; ")}${wrong.length > 5 ? "; …" : ""}. Nothing was restored: move them out (a block can be fetched again from any IPFS node that holds its CID) and run restore again`,
    );
  const held = new Set(names);
  const lacking = (opts.cids ?? []).filter((c) => !held.has(blockFileName(c) ?? c));
  const report: ContentRestoreReport = { dir: opts.dir, blocks: 0, bytes: 0, lacking };
  for (const name of names) {
    opts.progress?.(report.blocks, names.length);
    const bytes = readFileSync(join(opts.dir, name));
    const cid = await opts.put(bytes);
    if (cid !== CID.parse(name).toV1().toString())
      throw new Error(`the store put ${name} as ${cid}: not the same block`);
    report.blocks++;
    report.bytes += bytes.length;
  }
  opts.progress?.(report.blocks, names.length);
  return report;
}

export type PinReport = {
  /** each file put and pinned, with its CID */
  pinned: { file: string; cid: string; bytes: number }[];
  bytes: number;
};

/** The largest file `pin` takes (bundles and evidence files are far smaller; Node reads up to 2 GiB at once). */
export const MAX_PIN_BYTES = 512 * 2 ** 20;

/**
 * `carbonproof-oracle pin FILE|DIR...`: files into the node's store, each pinned as the one raw
 * block the node names its bundles and evidence files by (`put`: ContentStore `addAndPin`). For a
 * bundle or evidence file recovered from elsewhere (another node of the quorum, an auditor's
 * download, a `backup --content` directory): a window sealed again after a restore is taken as its
 * attestation's record once its bundle is back (`retry`). A FILE is taken whatever its name; a
 * DIR gives only its files named by their CID, as `backup --content` writes them (names starting
 * with a dot skipped: `backup`'s partial files), so that pointing it at the wrong directory
 * publishes nothing. A file named by a CID must be the block it names. Nothing under `refuse`
 * (the node's data dir and keystore: the database and key must never reach an IPFS node, which
 * may announce what it holds) is taken, symbolic links resolved. Every path is checked before
 * anything is put: a missing or unreadable path, a subdirectory, a file over
 * {@link MAX_PIN_BYTES} or a misnamed one stops it, named.
 */
export async function pinFiles(opts: {
  paths: string[];
  put(bytes: Uint8Array): Promise<string>;
  refuse?: { path: string; why: string }[];
  progress?(done: number, total: number): void;
}): Promise<PinReport> {
  const files: { file: string; named: string | null }[] = [];
  const wrong: string[] = [];
  const fenced = (opts.refuse ?? []).map((r) => ({ ...r, real: realOrSelf(r.path) }));
  const take = async (file: string, name: string, inDir: boolean) => {
    let real: string;
    try {
      real = realpathSync.native(file);
      const st = statSync(real);
      if (!st.isFile()) return void wrong.push(`${file} (not a file)`);
      if (st.size > MAX_PIN_BYTES)
        return void wrong.push(
          `${file} (${st.size} bytes: over the ${MAX_PIN_BYTES} a bundle or evidence file can be)`,
        );
      accessSync(real, fsConstants.R_OK);
    } catch (err) {
      return void wrong.push(
        `${file} (cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      );
    }
    const fence = fenced.find((f) => real === f.real || real.startsWith(`${f.real}${sep}`));
    if (fence) return void wrong.push(`${file} (${fence.why})`);
    // a CID as its name (a `backup --content` file): it must be that block
    const named = blockFileName(name);
    if (named === null && inDir)
      return void wrong.push(
        `${file} (in a directory only files named by their CID, as \`backup --content\` writes them, are pinned: give other files by name)`,
      );
    const bytes = readFileSync(real);
    const secret = named === null ? looksSecret(bytes) : null;
    if (secret)
      return void wrong.push(
        `${file} (${secret}: never pinned, an IPFS node announces what it holds; bundles and evidence files never are one)`,
      );
    const why = named === null ? null : await blockMismatch(name, bytes);
    if (why)
      wrong.push(
        `${file} (named ${name}, but ${why}${why.startsWith("not a raw block") ? "; if these are the file's own bytes, give it under another name" : ""})`,
      );
    else files.push({ file: real, named });
  };
  for (const path of opts.paths) {
    let inDir: boolean;
    try {
      inDir = statSync(path).isDirectory();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      wrong.push(
        `${path} (${code === "ENOENT" ? "no such file or directory" : `cannot be read: ${code ?? (err as Error).message}`})`,
      );
      continue;
    }
    if (!inDir) {
      await take(path, basename(path), false);
      continue;
    }
    const names = readdirSync(path).filter((n) => !n.startsWith("."));
    if (!names.length) wrong.push(`${path} (an empty directory)`);
    for (const name of names) await take(join(path, name), name, true);
  }
  if (wrong.length)
    throw new Error(
      `${wrong.length} path(s) cannot be pinned: ${wrong.slice(0, 5).join("; ")}${wrong.length > 5 ? "; …" : ""}. Nothing was pinned`,
    );
  const report: PinReport = { pinned: [], bytes: 0 };
  for (const { file, named } of files) {
    opts.progress?.(report.pinned.length, files.length);
    try {
      const bytes = readFileSync(file);
      const cid = rawCid(bytes);
      // changed since it was checked: not put
      if (named !== null && cid !== named) throw new Error(`${file} is no longer the ${named} it is named`);
      const put = await opts.put(bytes);
      if (put !== cid) throw new Error(`the store put ${file} as ${put}, not ${cid}`);
      report.pinned.push({ file, cid, bytes: bytes.length });
      report.bytes += bytes.length;
    } catch (err) {
      throw new Error(
        `${(err as Error).message}; pinned before it: ${report.pinned.length ? report.pinned.map((p) => `${p.file} (${p.cid})`).join(", ") : "nothing"}`,
        { cause: err },
      );
    }
  }
  opts.progress?.(report.pinned.length, files.length);
  return report;
}

/** What secret a file looks like (a database, a private key, an encrypted keystore), or null. */
function looksSecret(bytes: Buffer): string | null {
  if (bytes.subarray(0, 16).toString("latin1") === "SQLite format 3\0") return "an SQLite database";
  if (bytes.includes("PRIVATE KEY-----")) return "a PEM private key";
  if (bytes.length < 65_536) {
    try {
      const json = JSON.parse(bytes.toString("utf8")) as Record<string, unknown>;
      if (json && typeof json === "object" && ("crypto" in json || "Crypto" in json) && "version" in json)
        return "an encrypted keystore";
    } catch {
      // not JSON
    }
  }
  return null;
}

/** `path` with its symbolic links resolved, or as given when it does not exist. */
function realOrSelf(path: string): string {
  try {
    return realpathSync.native(path);
  } catch {
    return path;
  }
}

/**
 * `bytes` as `file`: written beside it under a temporary name, synced, renamed. On any failure the
 * temporary file is removed and nothing stands under `file`. `write` is writeSync (a test passes
 * one that writes less than asked, as write(2) does on a disk that fills up mid-file).
 */
export function writeDurably(
  file: string,
  bytes: Uint8Array,
  write: (fd: number, bytes: Uint8Array, offset: number, length: number) => number = writeSync,
): void {
  const dot = join(dirname(file), `.${basename(file)}.${process.pid}.partial`);
  try {
    const fd = openSync(dot, "w");
    try {
      // write(2) may write part of the bytes (a disk filling up): the rest written after it, until
      // all are, or write fails (ENOSPC)
      for (let at = 0; at < bytes.length;) {
        const n = write(fd, bytes, at, bytes.length - at);
        if (n <= 0) throw new Error(`wrote none of the last ${bytes.length - at} bytes of ${dot}`);
        at += n;
      }
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(dot, file);
  } catch (err) {
    rmSync(dot, { force: true });
    throw err;
  }
}
