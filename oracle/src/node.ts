import { join, resolve } from "node:path";
import type { Common } from "./common.ts";
import type { EmissionsCalculator } from "./compute/emissions.ts";
import type { DeviceDirectory } from "./devices/directory.ts";
import { MemoryDeviceDirectory, loadDeviceFile } from "./devices/directory.ts";
import { Ingestor } from "./ingest/ingestor.ts";
import { HeartbeatRecorder, startHeartbeatRetention } from "./ingest/heartbeat.ts";
import { startEmbeddedBroker, startExternalSubscriber, type DrainTimings, type MqttIngest } from "./ingest/mqtt.ts";
import { buildApi } from "./api/server.ts";
import { ProofService } from "./batch/proofs.ts";
import { BatchPipeline, type ChainPort } from "./batch/pipeline.ts";
import { reviewCosign, type CosignRequest, type ReviewResult } from "./quorum/cosign.ts";
import { Cosigner, type CosignAsker } from "./quorum/cosigner.ts";
import { readAttestationHeader } from "./quorum/original.ts";
import { WorkerBundleBuilder } from "./batch/bundle-builder.ts";
import { HeliaStore } from "./ipfs/helia.ts";
import { KuboStore } from "./ipfs/kubo.ts";
import type { ContentStore } from "./ipfs/store.ts";
import { openStorage, storageSpec } from "./storage/open.ts";
import { ViemChain, chainFor } from "./chain/viem.ts";
import { ShortfallRecorder } from "./credits/shortfalls.ts";
import { loadSigner } from "./chain/setup.ts";
import { ChainDeviceDirectory } from "./devices/chain.ts";
import { createPublicClient, http, type PublicClient } from "viem";
import type { Storage } from "./storage/types.ts";
import { PinWatch, Readiness } from "./readiness.ts";
import { listenFailure } from "./listen.ts";

export type NodeParts = {
  /** Device lookups; default from config (`devices.source`). */
  devices?: DeviceDirectory;
  calculator: EmissionsCalculator;
  /** Content store; default from config (`ipfs.mode`). */
  content?: ContentStore;
  /** Chain access (submit, confirmations); default from config when `chain.enabled`. */
  chain?: ChainPort | null;
  /** How long the external subscriber's drains wait (`DEFAULT_DRAIN_TIMINGS` if not given); tests shorten them. */
  mqttDrain?: Partial<DrainTimings>;
};

/** A running oracle node: every part, for tests and the CLI. */
export type OracleNode = {
  common: Common;
  storage: Storage;
  ingestor: Ingestor;
  pipeline: BatchPipeline;
  api: Awaited<ReturnType<typeof buildApi>> | null;
  httpUrl: string | null;
  mqtt: MqttIngest | null;
  content: ContentStore | null;
  /** What GET /ready answers (storage, MQTT, pipeline, IPFS pinning, chain RPC). */
  readiness: Readiness;
  /** Stops intake (MQTT, HTTP), commits what is queued, stops the pipeline, closes storage and IPFS. */
  stop(): Promise<void>;
};

/**
 * Starts a node: storage first (recovery is nothing more than reading it: every batch that is
 * not confirmed or failed is resumed by the pipeline), then IPFS, the pipeline, and the
 * intake (MQTT, HTTP) last, so nothing is accepted before it can be stored.
 */
export async function startNode(common: Common, parts: NodeParts): Promise<OracleNode> {
  try {
    return await startParts(common, parts);
  } catch (err) {
    // a start that fails part-way (a port in use, IPFS that cannot open, a bad registry address)
    // closes what it had opened: the database, the writer, verify and bundle threads, Helia's
    // repo lock, the broker. Otherwise a process that embeds the node, or retries the start,
    // keeps them all, and the next start on the same data dir finds them locked.
    await common.shutdown.run(common.logger).catch((closeErr: unknown) => {
      common.logger.error({ err: closeErr }, "closing the parts of a failed start");
    });
    throw err;
  }
}

async function startParts(common: Common, parts: NodeParts): Promise<OracleNode> {
  const { config, logger } = common;
  const dataDir = resolve(config.dataDir);
  const spec = storageSpec(config);
  const storage = openStorage(spec);
  common.shutdown.add("storage", () => storage.close());

  let chain: ChainPort | null = parts.chain ?? null;
  let viemChain: ViemChain | null = null;
  if (parts.chain === undefined && config.chain.enabled) {
    if (!config.chain.attestationRegistry)
      throw new Error("chain.enabled needs chain.attestationRegistry (the registry address)");
    viemChain = new ViemChain({
      rpcUrl: config.chain.rpcUrl,
      chainId: config.chain.chainId,
      registry: config.chain.attestationRegistry as `0x${string}`,
      account: loadSigner(config),
      gasBumpPercent: config.chain.gasBumpPercent,
    });
    chain = viemChain;
    // an RPC node of another chain stops the start; one out of reach does not (an outage delays
    // attestation): its chain id is then checked before the first signature
    try {
      await viemChain.checkChainId();
    } catch (err) {
      if ((err as { code?: string }).code === "CHAIN_ID_MISMATCH") throw err;
      logger.warn(
        { err: common.scrub((err as Error).message) },
        "the RPC node is out of reach: its chain id is checked before anything is signed",
      );
    }
    logger.info(
      { signer: viemChain.signerAddress, registry: config.chain.attestationRegistry },
      "chain submission enabled",
    );
  }

  let devices: DeviceDirectory;
  if (parts.devices) devices = parts.devices;
  else if (config.devices.source === "file")
    devices = loadDeviceFile(config.devices.file ?? join(dataDir, "devices.json"));
  else {
    if (!config.chain.deviceRegistry)
      throw new Error("devices.source = chain needs chain.deviceRegistry (the DeviceRegistry address)");
    const client =
      viemChain?.client ??
      (createPublicClient({
        chain: chainFor(config.chain.chainId, config.chain.rpcUrl),
        transport: http(config.chain.rpcUrl, { timeout: 10_000, retryCount: 0 }),
      }) as PublicClient);
    const dir = new ChainDeviceDirectory({
      client,
      address: config.chain.deviceRegistry as `0x${string}`,
      ttlMs: config.devices.cacheTtlMs,
      logger,
      pollMs: config.chain.pollMs,
    });
    devices = dir;
    common.shutdown.add("devices", () => dir.close());
  }

  let content: ContentStore | null = parts.content ?? null;
  if (!content) {
    content =
      config.ipfs.mode === "helia"
        ? await HeliaStore.open(join(dataDir, "ipfs"))
        : new KuboStore(config.ipfs.kuboUrl, config.ipfs.timeoutMs);
    const c = content;
    common.shutdown.add("ipfs", () => c.close());
  }

  // readings and batch state are written on one thread of their own (storage/ingest-writer.ts),
  // closed after the pipeline stops (shutdown hooks run last-registered first)
  const writer = storage.openIngestWriter();
  if (writer) common.shutdown.add("storage-writer", () => writer.close());
  const ingestor = new Ingestor({ common, storage, devices, calculator: parts.calculator, writer });
  // pins of the pipeline and of evidence uploads go through the watch: /ready reports IPFS by them
  const pins = new PinWatch(content, () => common.clock.nowMs());
  const proofs = new ProofService(storage);
  const bundles = new WorkerBundleBuilder(spec, parts.calculator);
  common.shutdown.add("bundle-worker", () => bundles.close()); // the pipeline's stop closes it too
  const pipeline = new BatchPipeline({
    common,
    storage,
    content: pins,
    calculator: parts.calculator,
    chain,
    bundles,
    writes: writer ?? storage,
    devices,
  });
  // before the pipeline starts: it tells the pipeline the nonce of its unmined transaction, if any
  let shortfalls: ShortfallRecorder | null = null;
  if (viemChain && config.chain.carbonCredits && config.shortfalls.enabled)
    shortfalls = new ShortfallRecorder({
      common,
      storage,
      chain: viemChain,
      pipeline,
      carbonCredits: config.chain.carbonCredits as `0x${string}`,
    });
  pipeline.start();
  common.shutdown.add("pipeline", () => pipeline.stop());
  if (shortfalls) {
    const recorder = shortfalls;
    recorder.start();
    // stopped before the pipeline (hooks run last-registered first)
    common.shutdown.add("shortfalls", () => recorder.stop());
    logger.info({ carbonCredits: config.chain.carbonCredits }, "recording this node's periods above their baseline");
  }

  let mqtt: MqttIngest | null = null;
  const heartbeats = new HeartbeatRecorder({ common, storage, devices, writes: writer });
  const retention = startHeartbeatRetention({
    common,
    prune: (beforeMs, limit) =>
      writer ? writer.pruneHeartbeats(beforeMs, limit) : storage.pruneHeartbeats(beforeMs, limit),
  });
  common.shutdown.add("heartbeat-retention", () => retention.stop());
  // intake closes first (hooks run last-registered first), then the queue is committed; added
  // before the broker starts, so that a broker that fails to start still closes the verify threads
  common.shutdown.add("ingest-flush", () => ingestor.close());
  if (config.mqtt.mode === "embedded") mqtt = await startEmbeddedBroker({ common, ingestor, heartbeats, storage });
  else if (config.mqtt.mode === "external")
    mqtt = await startExternalSubscriber({
      common,
      ingestor,
      heartbeats,
      storage,
      writes: writer,
      drain: parts.mqttDrain,
    });
  if (mqtt) {
    const m = mqtt;
    common.shutdown.add("mqtt", () => m.close());
  }

  const readiness = new Readiness({
    common,
    storage,
    writerFailed: writer ? () => writer.failed : undefined,
    storageWrite: writer ? (key, value) => writer.setMeta(key, value) : undefined,
    pins,
    chain,
    mqtt: () => config.mqtt.mode === "off" || mqtt !== null,
    pipeline: () => pipeline.healthy(),
  });
  readiness.start();
  common.shutdown.add("readiness", () => readiness.stop());

  let api: Awaited<ReturnType<typeof buildApi>> | null = null;
  let httpUrl: string | null = null;
  if (config.http.enabled) {
    api = await buildApi({
      common,
      storage,
      ingestor,
      proofs,
      content: () => pins,
      cosign: chain
        ? (() => {
            const c = chain!;
            const registry = (config.chain.attestationRegistry ?? `0x${"00".repeat(20)}`) as `0x${string}`;
            const domain = { chainId: config.chain.chainId, verifyingContract: registry };
            const vc = viemChain;
            const store = content!;
            const cosigner = new Cosigner({
              storage,
              nowMs: () => common.clock.nowMs(),
              graceS: config.batching.graceS,
              devices,
              review: (req, records, signal) => {
                // on the bundle worker when the calculator can be posted there (the sdk's)
                const posted = parts.calculator.posted?.();
                return posted
                  ? // the worker answers reviewCosign's ReviewResult (bundle-builder.ts types its older shape);
                    // it takes no `signal`: its job runs to its end, and the co-signer counts a review
                    // stopped meanwhile against ORPHANED_REVIEWS until it has
                    (bundles.reviewCosign(
                      req,
                      {
                        methodologyId: parts.calculator.methodologyId,
                        factorSetId: parts.calculator.factorSetId,
                        facilities: posted.facilities,
                      },
                      records,
                    ) as Promise<ReviewResult>)
                  : reviewCosign(req, {
                      calculator: parts.calculator,
                      devices: new MemoryDeviceDirectory(records),
                      ...(signal ? { signal } : {}),
                    });
              },
              original:
                vc && config.chain.attestationRegistry ? (id) => readAttestationHeader(vc.client, registry, id) : null,
              // this node's own blocks, or (Kubo) its peers' for a few seconds
              readBundle: (cid, signal) =>
                store.get(cid, {
                  network: true,
                  signal: signal ? AbortSignal.any([signal, AbortSignal.timeout(5_000)]) : AbortSignal.timeout(5_000),
                }),
              domain,
              self: c.signerAddress,
              // the OracleSet read as the lead reads it for its peers' signers (chain/viem.ts)
              isActiveOracle: c.isActiveOracle ? (a) => c.isActiveOracle!(a) : null,
              sign: async (header) => {
                const signature = await c.signHeader(header);
                logger.info({ signer: c.signerAddress, cid: header.bundleCid }, "co-signed a batch header");
                return { signer: c.signerAddress, signature };
              },
              // its answers' text written without the secrets of this node's configured URLs
              scrub: (text) => common.scrub(text),
            });
            return async (req: CosignRequest, asker: CosignAsker, signal?: AbortSignal) => {
              // nothing recorded or signed for an RPC node of another chain (the record's id is
              // the header's digest under chain.chainId, which the lead would not share)
              if (vc) {
                try {
                  await vc.checkChainId();
                } catch (err) {
                  const mismatch = (err as { code?: string }).code === "CHAIN_ID_MISMATCH";
                  return {
                    refused: mismatch
                      ? (err as Error).message
                      : `the chain id of this node's RPC node could not be read (${common.scrub((err as Error).message.split("\n")[0]!)}): retry later`,
                    status: 503,
                    error: mismatch ? "CHAIN_ID_MISMATCH" : "COSIGN_RETRY_LATER",
                  };
                }
              }
              return cosigner.cosign(req, asker, signal);
            };
          })()
        : null,
      readiness: () => readiness.parts(),
      shortfalls: () => shortfalls?.status() ?? null,
    });
    const a = api;
    common.shutdown.add("http", () => a.close());
    httpUrl = await api.listen({ host: config.http.host, port: config.http.port }).catch((err: unknown) => {
      throw listenFailure("http", config.http.host, config.http.port, err);
    });
    logger.info({ url: httpUrl }, "HTTP API listening");
  }

  return {
    common,
    storage,
    ingestor,
    pipeline,
    api,
    httpUrl,
    mqtt,
    content,
    readiness,
    stop: () => common.shutdown.run(logger),
  };
}
