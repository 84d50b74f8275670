import { availableParallelism } from "node:os";
import { z } from "zod";
import { ID_PATTERN } from "../../../sdk/src/index.ts";

/**
 * The oracle node's whole configuration, parsed once at start (file, then
 * environment overrides) and passed around inside `common.config`.
 * Defaults are the embedded local stack: everything on loopback, nothing dials out.
 */
const port = z.number().int().min(0).max(65535);
/** `ipfs.networkSearches`'s one message for any value it refuses (a string, 0, 1.5, 65). */
const networkSearchesRange = { error: "must be a whole number of searches from 1 to 64 (default 4)" };

/**
 * Longest delay Node's timers take, 2^31 − 1 ms (24.8 days): a longer one fires after 1 ms
 * (setTimeout, setInterval, AbortSignal.timeout), so a probe or tick set to a month would run
 * without pause and a timeout would abort every request at once.
 */
export const MAX_TIMER_MS = 2_147_483_647;
/** A setting that is a timer's delay, `min` ms up to {@link MAX_TIMER_MS}. */
const timerMs = (min: number) =>
  z
    .number()
    .int()
    .min(min)
    .max(MAX_TIMER_MS, {
      error: `must be at most ${MAX_TIMER_MS} ms (about 24.8 days), the longest delay a Node timer takes (a longer one fires after 1 ms): set a shorter time`,
    });

/** Shortest attestation window outside the local chain (issue 6: windows of 1 min to 24 h). */
export const MIN_WINDOW_S = 60;
/** Windows an error suggests: divisors of a day (`batching.windowS` must divide 86400). */
const WINDOW_EXAMPLES = "60 (1 min), 300 (5 min), 900 (15 min), 3600 (1 h) or 86400 (24 h)";
/**
 * Hardhat's chain id: the local stack (what `npm start`, the tests and the bench run), where test
 * shortcuts are allowed: windows under {@link MIN_WINDOW_S} here, a plain key in chain/setup.ts.
 * Defined here, not in the chain modules, so that parsing a config does not load them.
 */
export const LOCAL_CHAIN_ID = 31337;

/**
 * Every setting that names a file or directory. The one rule for a relative path (config/load.ts):
 * written in the config file, it is relative to that file's directory (as Prometheus's
 * `rule_files` and docker compose do), so a config means the same wherever the node is started;
 * from a `CARBONPROOF_ORACLE__*` variable or programmatic overrides, it is relative to the working
 * directory, as a shell user expects; a default the file leaves out (`dataDir`'s
 * `.carbonproof/oracle`, and the data-dir files derived from it) is relative to the working
 * directory too, as it is without a config file. A new path setting must be added here.
 */
export const PATH_SETTINGS = [
  "dataDir",
  "mqtt.caFile",
  "mqtt.certFile",
  "mqtt.keyFile",
  "chain.keystore.path",
  "devices.file",
  "methodology.factorSetFile",
] as const;

/** Storage drivers the node has (storage/sqlite.ts, storage/postgres.ts); `storage.driver` accepts these only. */
export const STORAGE_DRIVERS = ["sqlite", "postgres"] as const;

/**
 * Every object of the config is strict (`z.strictObject`): a key the schema does not have is
 * refused, naming it (config/load.ts suggests the setting it resembles). A plain `z.object` drops
 * it, so a typo such as `mqtt.requireAuthentication` (or CARBONPROOF_ORACLE__MQTT__REQUIREAUTH,
 * read as `requireauth`) would leave the setting at its default, MQTT without authentication.
 * A new section or nested object must be a `z.strictObject` too.
 */
export const configSchema = z
  .strictObject({
    /** Where SQLite, the Helia blockstore and the keystore live; a path ({@link PATH_SETTINGS}). */
    dataDir: z.string().min(1).default(".carbonproof/oracle"),
    nodeName: z.string().min(1).default("oracle-1"),
    log: z
      .strictObject({ level: z.enum(["trace", "debug", "info", "warn", "error", "fatal", "silent"]).default("info") })
      .prefault({}),
    http: z
      .strictObject({
        enabled: z.boolean().default(true),
        host: z.string().default("127.0.0.1"),
        port: port.default(8787),
        /** Largest JSON body accepted (a batch of envelopes). */
        bodyLimitBytes: z.number().int().min(1024).default(1_048_576),
        /** Largest evidence file for a manual entry. */
        evidenceMaxBytes: z.number().int().min(1024).default(10_485_760),
        rateLimit: z
          .strictObject({
            max: z.number().int().min(1).default(1200),
            windowMs: z.number().int().min(100).default(60_000),
          })
          .prefault({}),
        /**
         * Accept readings on POST /v1/readings without an API key. The envelope is
         * signed by the device, so a key only limits who may load the node; off by default.
         */
        openIngest: z.boolean().default(false),
        /** Origins allowed by CORS (browsers: the explorer and the web app); "*" for any. */
        corsOrigins: z.array(z.string()).default(["*"]),
        /** Admin token for key management routes (sha-256 hex of it is compared). Optional. */
        adminTokenSha256: z
          .string()
          .regex(/^[0-9a-f]{64}$/)
          .optional(),
      })
      .prefault({}),
    mqtt: z
      .strictObject({
        /** embedded: an in-process endpoint on host:port; external: subscribe to a broker at `url`; off: no MQTT. */
        mode: z.enum(["embedded", "external", "off"]).default("embedded"),
        /**
         * The embedded endpoint. ingest: devices publish, nothing is delivered (SUBSCRIBE is refused);
         * the lean server of ingest/mqtt-server.ts. aedes: a whole in-process broker, for subscribers.
         */
        embedded: z.enum(["ingest", "aedes"]).default("ingest"),
        /** ingest endpoint: messages of one connection being validated and stored before it is paused. */
        maxInflightPerConnection: z.number().int().min(1).max(65_535).default(256),
        /** ingest endpoint: the same over all connections. */
        maxInflight: z.number().int().min(1).default(8192),
        host: z.string().default("127.0.0.1"),
        port: port.default(1883),
        /** External broker, `mqtt://` or `mqtts://` (TLS); user:password in it are never logged. */
        url: z
          .string()
          .refine((s) => URL.canParse(s), "must be a URL such as mqtts://broker.example:8883")
          .optional(),
        username: z.string().optional(),
        password: z.string().optional(),
        /** External broker over TLS: PEM of the CA that signed the broker's certificate (default: the system's CAs). */
        caFile: z.string().optional(),
        /** External broker, mutual TLS: PEM client certificate and its unencrypted private key, both or neither. */
        certFile: z.string().optional(),
        keyFile: z.string().optional(),
        clientId: z.string().optional(),
        /** MQTT 5 shared subscription group, so several oracle nodes split the stream (external brokers only). */
        sharedGroup: z.string().optional(),
        /**
         * External broker: subscriber connections, each with its own session (`<clientId>-<i>`) in the
         * `sharedGroup`, so that this many readings are in flight and a group commit takes them all.
         * Default 16 with `sharedGroup`, 1 without; more than 1 needs `sharedGroup`.
         */
        subscribers: z
          .number()
          .int()
          .min(1, { error: "must be 1 to 256 subscriber connections" })
          .max(256, { error: "must be 1 to 256 subscriber connections" })
          .optional(),
        maxPayloadBytes: z.number().int().min(1024).default(262_144),
        /**
         * Embedded broker: require MQTT username = device or facility id and password = its API key.
         * Off by default for the local stack (payloads are signed by the devices either way).
         */
        requireAuth: z.boolean().default(false),
        /**
         * Embedded broker with requireAuth: how often the keys of open connections are checked
         * again; a connection whose key was revoked since (`keys api-revoke`, DELETE
         * /v1/admin/api-keys/:id) is closed.
         */
        keyRecheckMs: z.number().int().min(100).max(3_600_000).default(5000),
      })
      .refine((m) => (m.certFile === undefined) === (m.keyFile === undefined), {
        message: "set both mqtt.certFile and mqtt.keyFile (the client certificate and its key), or neither",
        path: ["certFile"],
      })
      .refine((m) => (m.subscribers ?? 1) === 1 || m.sharedGroup !== undefined, {
        message:
          "more than 1 subscriber connection needs mqtt.sharedGroup: without a shared subscription every connection receives every reading; set mqtt.sharedGroup to a group name (MQTT 5 shared subscription: Mosquitto, EMQX) or mqtt.subscribers to 1",
        path: ["subscribers"],
      })
      .prefault({}),
    storage: z
      .strictObject({
        /** sqlite: `<dataDir>/oracle.db` (embedded, the default); postgres: the server at `url` (docs/oracle.md). */
        driver: z
          .enum(STORAGE_DRIVERS, {
            error: (i) =>
              `storage driver ${JSON.stringify(i.input)} does not exist: the drivers that exist are ${STORAGE_DRIVERS.join(", ")}; set storage.driver to one of them or leave it out (sqlite)`,
          })
          .default("sqlite"),
        /**
         * PostgreSQL's connection URL, `postgres://user:password@host:5432/database` (for driver
         * postgres; better from the environment, CARBONPROOF_ORACLE__STORAGE__URL, than in a file,
         * since it may hold a password). Never logged with its password.
         */
        url: z
          .string()
          .refine((u) => /^postgres(ql)?:\/\/./.test(u) && URL.canParse(u), {
            message:
              "storage.url must be a postgres:// (or postgresql://) URL, e.g. postgres://oracle@127.0.0.1:5432/carbonproof",
          })
          .optional(),
        /**
         * FULL: a reading acknowledged to a device survives power loss (fsync per group commit).
         * NORMAL: survives a process crash only. FULL is the default because an ack lets
         * the device delete its copy.
         */
        synchronous: z.enum(["FULL", "NORMAL"]).default("FULL"),
        /** Group commit: longest a validated reading waits before its transaction. */
        flushIntervalMs: z.number().int().min(0).max(1000).default(4),
        maxBatchSize: z.number().int().min(1).max(100_000).default(5000),
      })
      .refine((st) => st.driver !== "postgres" || st.url !== undefined, {
        message:
          'storage.driver "postgres" needs storage.url (postgres://user:password@host:5432/database), e.g. from CARBONPROOF_ORACLE__STORAGE__URL',
        path: ["url"],
      })
      .prefault({}),
    heartbeats: z
      .strictObject({
        /**
         * Heartbeats older than this are deleted (checked at start and every hour). At one a minute
         * a device sends 1,440 a day; the device-health view looks back 7 days by default.
         */
        retentionDays: z.number().int().min(1).max(3650).default(30),
      })
      .prefault({}),
    /** GET /ready (docs/oracle.md, "HTTP API"): how often its probes run and how long a failure is tolerated. */
    readiness: z
      .strictObject({
        /** Storage write probe and chain `eth_blockNumber` probe, this often. */
        probeMs: timerMs(10).default(5000),
        /** Not ready once every IPFS pin has failed for this long (a pin's own timeout is `ipfs.timeoutMs`). */
        ipfsFailingForMs: z.number().int().min(0).default(120_000),
        /** Not ready once the chain RPC has not answered for this long (chain.enabled only). */
        chainSilentForMs: z.number().int().min(0).default(60_000),
      })
      .prefault({}),
    validation: z
      .strictObject({
        clockSkewS: z.number().int().min(0).default(300),
        /**
         * Parse and verify P-256 signatures on this many worker threads (0: on the main thread).
         * Default: one per core, at most 8. On 2 cores, 2 workers accepted ~30 % more readings/s
         * than 1 in bench:ingest (docs/oracle.md): with one, verification (the largest cost)
         * could use only one core while the main thread and the writer waited on it.
         */
        verifyWorkers: z
          .number()
          .int()
          .min(0)
          .max(64)
          .default(() => Math.min(8, availableParallelism())),
        anomaly: z
          .strictObject({
            window: z.number().int().min(4).default(64),
            minSamples: z.number().int().min(3).default(12),
            /** Robust z-score |x − median| / (1.4826·MAD, or 1.253314·MeanAD when MAD is 0: validate/anomaly.ts) above which a reading is flagged. */
            threshold: z.number().positive().default(6),
          })
          .prefault({}),
      })
      .prefault({}),
    batching: z
      .strictObject({
        /**
         * Attestation window per facility, seconds: 60 (1 min) to 86400 (24 h), a divisor of 86400.
         * Under 60 only on the local chain (`chain.chainId` 31337: tests, the bench, `npm start`) or
         * with `allowShortWindows`.
         */
        windowS: z
          .number()
          .int()
          .min(1, { error: "must be a whole number of seconds from 60 (1 min) to 86400 (24 h)" })
          .max(86_400, { error: "must be at most 86400 (24 h): set a window from 60 (1 min) to 86400 (24 h)" })
          // windows start at floor(ts / windowS) · windowS from 1970: with a divisor of a day every
          // midnight UTC is a window's boundary; with another length some window spans 1 January,
          // and CarbonCredits refuses its period for good (CarbonCreditsPeriodSpansVintages). Out of
          // range or not whole: the checks above have said so.
          .refine((w) => !Number.isInteger(w) || w < 1 || w > 86_400 || 86_400 % w === 0, {
            error: (i) =>
              `${String(i.input)} s does not divide a day (86400 s), so a window would span midnight UTC and, once a year, two vintages (CarbonCredits refuses such a period): set a divisor of 86400 such as ${WINDOW_EXAMPLES}`,
          })
          .default(3600),
        /** Take windows under 60 s on a chain other than the local one (a test network). */
        allowShortWindows: z.boolean().default(false),
        /** Wait this long after a window ends before sealing it, for readings in flight. */
        graceS: z.number().int().min(0).default(30),
        tickMs: timerMs(10).default(1000),
        /** Retry backoff for IPFS and chain steps. */
        retryBaseMs: z.number().int().min(1).default(500),
        retryMaxMs: z.number().int().min(1).default(60_000),
      })
      .prefault({}),
    ipfs: z
      .strictObject({
        mode: z.enum(["helia", "kubo"]).default("helia"),
        kuboUrl: z
          .string()
          .refine(
            (s) => URL.canParse(s) && /^https?:$/.test(new URL(s).protocol),
            "must be an http(s) URL such as http://127.0.0.1:5001",
          )
          // fetch refuses a URL with credentials, and its error would carry them into the batches' errors
          .refine(
            (s) => !URL.canParse(s) || (new URL(s).username === "" && new URL(s).password === ""),
            "must not hold a user name or password (user:pass@): the Kubo RPC client cannot send them; put the pinning service's key in the URL's path, or front Kubo with a proxy that adds it",
          )
          .default("http://127.0.0.1:5001"),
        timeoutMs: timerMs(100).default(30_000),
        /**
         * Searches of the IPFS network for a lost bundle (Kubo; the adoption after a restore,
         * batch/pipeline.ts) run at once, at most; the others wait for a slot in order. Each holds a
         * Kubo request and, found, the bundle's bytes.
         */
        networkSearches: z
          .number(networkSearchesRange)
          .int(networkSearchesRange)
          .min(1, networkSearchesRange)
          .max(64, networkSearchesRange)
          .default(4),
      })
      .prefault({}),
    chain: z
      .strictObject({
        enabled: z.boolean().default(false),
        /** JSON-RPC over HTTP: every client of the node is viem's `http` transport, so no ws:// */
        rpcUrl: z
          .string()
          .refine(
            (s) => URL.canParse(s) && /^https?:$/.test(new URL(s).protocol),
            "must be an http(s) URL such as https://rpc.example.org or http://127.0.0.1:8545 (the node speaks JSON-RPC over HTTP, not WebSocket)",
          )
          .default("http://127.0.0.1:8545"),
        chainId: z.number().int().positive().default(LOCAL_CHAIN_ID),
        attestationRegistry: z
          .string()
          .regex(/^0x[0-9a-fA-F]{40}$/)
          .optional(),
        deviceRegistry: z
          .string()
          .regex(/^0x[0-9a-fA-F]{40}$/)
          .optional(),
        /**
         * CarbonCredits: with it, the node records its own confirmed periods that emitted more than
         * their project's baseline (`shortfalls`, docs/credits.md).
         */
        carbonCredits: z
          .string()
          .regex(/^0x[0-9a-fA-F]{40}$/)
          .optional(),
        confirmations: z.number().int().min(1).default(1),
        /**
         * DeviceRegistry events are read this often. Capped 10 s under {@link MAX_TIMER_MS}: ingest
         * waits for a poll up to pollMs + DEVICE_SYNC_WAIT_MS (10 s, devices/directory.ts) on one timer.
         */
        pollMs: z
          .number()
          .int()
          .min(10)
          .max(MAX_TIMER_MS - 10_000, {
            error: `must be at most ${MAX_TIMER_MS - 10_000} ms (about 24.8 days: a Node timer takes at most ${MAX_TIMER_MS} ms, and ingest waits pollMs + 10 s): set a shorter time`,
          })
          .default(1000),
        /** Re-sign the same nonce with higher fees when a transaction is not mined after this long. */
        gasBumpAfterMs: z.number().int().min(100).default(30_000),
        gasBumpPercent: z.number().int().min(10).max(200).default(15),
        /**
         * The most a transaction of the node bids per gas (`maxFeePerGas`, wei; a decimal string for
         * values past 2^53): transactions are signed and bumped up to it, never past. Unset: a gas
         * bump bids at most 3 times the RPC node's current fee estimate (chain/viem.ts
         * `FEE_CAP_ESTIMATE_MULTIPLE`), which follows the market up and down.
         */
        maxFeePerGas: z
          .union([z.number().int().positive().max(Number.MAX_SAFE_INTEGER), z.string().regex(/^[1-9][0-9]{0,30}$/)])
          .optional(),
        /**
         * Hand a transaction of a previous key (sent before `keys rotate`) over to the current key
         * when it is still unmined this long after it was sent: stuck in mempools, its fees too low
         * and no node left to raise them. Safe: the registry never attests a header twice.
         */
        handOverAfterMs: z.number().int().min(1_000).default(600_000),
        keystore: z
          .strictObject({
            /** The encrypted keystore file (default: `keystore.json` in `dataDir`). */
            path: z.string().optional(),
            /** Name of the environment variable holding the keystore password. */
            passwordEnv: z.string().default("CARBONPROOF_ORACLE_KEYSTORE_PASSWORD"),
            /** Local stack only: environment variable holding a plain private key. */
            privateKeyEnv: z.string().default("CARBONPROOF_ORACLE_PRIVATE_KEY"),
          })
          .prefault({}),
      })
      .prefault({}),
    /**
     * Recording the node's confirmed periods above their project's baseline on CarbonCredits
     * (`recordShortfall`; needs `chain.enabled` and `chain.carbonCredits`).
     */
    shortfalls: z
      .strictObject({
        enabled: z.boolean().default(true),
        everyMs: timerMs(100).default(60_000),
        /** confirmed batches whose period ended at most this long ago are asked */
        lookbackDays: z.number().int().min(1).max(3650).default(30),
      })
      .prefault({}),
    /**
     * k-of-n quorum: when the OracleSet's threshold k is above 1, the other oracle nodes asked to
     * co-sign each batch header (their POST /v1/quorum/cosign, with an `oracle` API key of theirs).
     * Each re-checks the bundle before it signs (docs/oracle.md, "Quorum").
     */
    quorum: z
      .strictObject({
        peers: z.array(z.strictObject({ url: z.string().url(), apiKey: z.string().min(1).optional() })).default([]),
        timeoutMs: timerMs(100).default(30_000),
      })
      .prefault({}),
    devices: z
      .strictObject({
        /** chain: DeviceRegistry contract; file: a JSON list (local tests and air-gapped demos). */
        source: z.enum(["chain", "file"]).default("file"),
        /** The JSON list for `source: "file"` (default: `devices.json` in `dataDir`). */
        file: z.string().optional(),
        cacheTtlMs: z.number().int().min(0).default(300_000),
      })
      .prefault({}),
    /** How readings are computed besides the sdk methodology itself. */
    methodology: z
      .strictObject({
        /**
         * A factor-set JSON file ("carbonproof.factor-set/1", as `carbonproof factors show --json` or
         * `factors import --out` write it) used instead of the sdk's built-in set. A relative path is
         * resolved like every path here ({@link PATH_SETTINGS}). Read and checked at start (config/load.ts).
         */
        factorSetFile: z.string().min(1).optional(),
      })
      .prefault({}),
    /**
     * Per facility, what readings do not carry (sdk `FacilityContext`): grid country, biogenic share
     * of stack CO2, contractual factor. A contractual factor needs its citation (the sdk refuses
     * an electricity reading with an uncited one): refused here, at start.
     */
    facilities: z
      .record(
        // the facility id its readings carry: a key no reading can carry would configure nothing
        z.string().regex(ID_PATTERN, {
          error: (i) =>
            `facility ${JSON.stringify(i.input)} is not a facility id (1–32 characters of a-z, 0-9, '.', '_', '-', starting with a letter or digit, as its readings' facilityId): its readings would be computed without this context`,
        }),
        z.strictObject({
          country: z.string().length(3).optional(),
          flueGasBiogenicShareBp: z.number().int().min(0).max(10_000).optional(),
          contractualMgCo2ePerKwh: z.number().int().min(0).optional(),
          /** The contractual factor's source, cited in every result: required with the factor. */
          contractualCitation: z.string().optional(),
          scope2Method: z.enum(["location", "market"]).optional(),
        }),
      )
      .superRefine((facilities, ctx) => {
        // every factor cites its source: an uncited contractual factor would be counted (market-based)
        // or reported with no source; the sdk refuses it, so every electricity reading would dead-letter
        for (const [facilityId, f] of Object.entries(facilities)) {
          if (f.contractualMgCo2ePerKwh === undefined || (f.contractualCitation ?? "").trim() !== "") continue;
          ctx.addIssue({
            code: "custom",
            path: [facilityId, "contractualCitation"],
            message: `${f.contractualCitation === undefined ? "missing" : "blank"}: the contractual factor facilities.${facilityId}.contractualMgCo2ePerKwh (${f.contractualMgCo2ePerKwh / 1000} g CO2e/kWh) cites no source, and every electricity reading of ${facilityId} would be refused; set facilities.${facilityId}.contractualCitation to the supplier's or certificate's document the factor comes from (e.g. "GO certificate no. …, 2026"), or remove the factor`,
          });
        }
      })
      .default({}),
  })
  .superRefine((c, ctx) => {
    // Issue 6: windows are 1 min to 24 h. Shorter ones exist for tests and the bench on the local
    // chain, the same boundary a plain key in the environment has (chain/setup.ts).
    const { windowS, allowShortWindows } = c.batching;
    // under 1 s the field's own check has already said what to set
    if (windowS >= 1 && windowS < MIN_WINDOW_S && c.chain.chainId !== LOCAL_CHAIN_ID && !allowShortWindows) {
      ctx.addIssue({
        code: "custom",
        path: ["batching", "windowS"],
        message: `${windowS} s is under the minimum of ${MIN_WINDOW_S} s (1 min): windows under ${MIN_WINDOW_S} s are for tests and the local chain (chain.chainId ${LOCAL_CHAIN_ID}) only, and chain.chainId is ${c.chain.chainId}; set batching.windowS to ${MIN_WINDOW_S}..86400, or batching.allowShortWindows to true on a test network`,
      });
    }
  });

export type Config = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;

/**
 * The keys the config object at `path` has (the top level, a section, a facility, a quorum peer;
 * a facility's id or a peer's index matches any), or [] when the schema has no object there: what
 * config/load.ts names beside a key the schema does not have.
 */
export function settingsAt(path: readonly PropertyKey[]): string[] {
  let at: z.core.$ZodType | undefined = configSchema;
  for (let i = 0; at !== undefined;) {
    const def: z.core.$ZodTypes["_zod"]["def"] = (at as z.core.$ZodTypes)._zod.def;
    if (def.type === "default" || def.type === "prefault" || def.type === "optional") at = def.innerType;
    else if (i === path.length) return def.type === "object" ? Object.keys(def.shape) : [];
    else if (def.type === "object") {
      const key = String(path[i++]);
      at = Object.hasOwn(def.shape, key) ? def.shape[key] : undefined;
    } else if (def.type === "record") ((at = def.valueType), i++);
    else if (def.type === "array") ((at = def.element), i++);
    else return [];
  }
  return [];
}
