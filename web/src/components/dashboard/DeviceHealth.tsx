import Link from "next/link";
import type { DeviceActivity } from "@/lib/reports/aggregate.ts";
import { count, duration, utc } from "@/lib/reports/format.ts";
import type { OracleHealthRead } from "@/lib/reports/load.ts";
import styles from "./dashboard.module.css";
import { NumTh } from "@/components/NumTh.tsx";

const msToS = (ms: number) => Math.floor(ms / 1000);

/**
 * Device health from two places: the indexed readings (attested on-chain: last seen, gaps between
 * readings) and the oracle node's own view (verified heartbeats, their gaps, readings it rejected).
 * When the oracle cannot be reached, the first half still shows and the second says why.
 */
export function DeviceHealth({
  activity,
  oracle,
  readingsNote,
}: {
  activity: DeviceActivity[];
  oracle: OracleHealthRead;
  readingsNote: string | null;
}) {
  const health = oracle.ok ? new Map(oracle.data.devices.map((d) => [d.deviceId, d])) : new Map();
  const ids = [
    ...new Set([...activity.map((a) => a.deviceId), ...(oracle.ok ? oracle.data.devices.map((d) => d.deviceId) : [])]),
  ].sort();
  const byId = new Map(activity.map((a) => [a.deviceId, a]));
  return (
    <>
      {oracle.ok ? (
        <p className="muted">
          Heartbeats and rejected readings from oracle node <strong>{oracle.data.node}</strong> ({oracle.url});
          heartbeat gaps over {duration(oracle.data.gapS)} since the start of the period. Only heartbeats whose device
          signature verifies count.
        </p>
      ) : (
        <p className="status status--pending" role="status" data-testid="oracle-health">
          Heartbeats and rejected readings are not shown: {oracle.message}. Set <code>CARBONPROOF_ORACLE_URL</code> to
          the oracle node&apos;s HTTP API. The readings columns come from the chain and work without it.
        </p>
      )}
      {readingsNote ? <p className="muted">{readingsNote}</p> : null}
      <div className="table-wrap">
        <table className={`cards-mobile ${styles.healthTable}`} data-testid="device-health">
          <caption>
            Devices of this facility: readings attested in the period, and the oracle node&apos;s health data
          </caption>
          <thead>
            <tr>
              <th scope="col">Device</th>
              <NumTh>Readings attested</NumTh>
              <th scope="col">Last attested reading</th>
              <th scope="col">Longest gap between readings</th>
              <th scope="col">Last heartbeat, longest heartbeat gap</th>
              <th scope="col">Rejected by the oracle, by reason</th>
            </tr>
          </thead>
          <tbody>
            {ids.map((id) => {
              const a = byId.get(id);
              const h = health.get(id);
              return (
                <tr key={id}>
                  <td data-label="Device">
                    <Link href={`/explorer/devices/${encodeURIComponent(id)}`} className="mono">
                      {id}
                    </Link>
                    <br />
                    {a?.kind ?? "not registered"}
                    {a?.status ? (
                      <>
                        {" "}
                        <span className={`badge ${a.status === "Active" ? "badge--ok" : "badge--warn"}`}>
                          {a.status}
                        </span>
                      </>
                    ) : null}
                  </td>
                  <td data-label="Readings attested" className="num">
                    {count(a?.readingCount ?? 0)}
                  </td>
                  <td data-label="Last attested reading">{a?.lastTs ? utc(a.lastTs) : "none in the period"}</td>
                  <td data-label="Longest gap between readings">
                    {a?.maxGapS != null ? duration(a.maxGapS) : "—"}
                    {a && a.gaps.length ? (
                      <span className="muted">
                        {" "}
                        ({a.gaps.length} over 3× the usual {duration(a.medianIntervalS ?? 0)})
                      </span>
                    ) : null}
                  </td>
                  <td data-label="Last heartbeat, longest gap">
                    {!oracle.ok ? (
                      "—"
                    ) : h?.lastHeartbeatAtMs ? (
                      <>
                        {utc(msToS(h.lastHeartbeatAtMs))}
                        <span className="muted">
                          {" "}
                          ({duration(msToS(oracle.data.nowMs - h.lastHeartbeatAtMs))} ago
                          {h.lastHeartbeat?.dropped
                            ? `, ${h.lastHeartbeat.dropped} readings dropped by its full buffer`
                            : ""}
                          {h.lastHeartbeat?.held
                            ? `, ${h.lastHeartbeat.held} measurements held until its clock is set`
                            : ""}
                          {h.lastHeartbeat?.heldDropped
                            ? `, ${h.lastHeartbeat.heldDropped} measurements lost while its clock was not set`
                            : ""}
                          {h.lastHeartbeat?.faults.length ? `, faults: ${h.lastHeartbeat.faults.join(", ")}` : ""})
                        </span>
                      </>
                    ) : (
                      "none received"
                    )}
                    {oracle.ok && h?.unverifiedHeartbeatCount ? (
                      <span className="badge badge--warn">{h.unverifiedHeartbeatCount} unverified</span>
                    ) : null}
                    {oracle.ok && h?.maxHeartbeatGapMs != null ? (
                      <>
                        <br />
                        longest gap {duration(msToS(h.maxHeartbeatGapMs))}
                      </>
                    ) : null}
                    {oracle.ok && h?.heartbeatGapCount ? (
                      <span className="muted">
                        {" "}
                        ({h.heartbeatGapCount} over {duration(oracle.data.gapS)})
                      </span>
                    ) : null}
                  </td>
                  <td data-label="Rejected by the oracle">
                    {!oracle.ok
                      ? "—"
                      : h?.rejectedTotal
                        ? Object.entries(h.rejected as Record<string, number>)
                            .map(([reason, n]) => `${reason}: ${n}`)
                            .join(", ")
                        : "none"}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </>
  );
}
