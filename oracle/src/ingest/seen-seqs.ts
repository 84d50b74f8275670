/**
 * Which (device, seq) pairs are stored, answered from memory where it can be, for the replay
 * step of validation. Per device: the highest seq stored (`max`), and a bitmap of the seqs
 * stored in the `WINDOW` seqs above a `floor`, complete since the node started (every commit of
 * this node is recorded). A seq above `max` is new; one in the bitmap's range is answered by
 * the bitmap; only a seq at or below `floor` (a late reading far behind, or anything the node
 * stored before it started) costs a storage lookup. Readings of one device arrive out of order
 * when they come over several connections, so "seq ≤ max" alone sent most of them to SQLite.
 * 128 bytes per device. The UNIQUE (device_id, seq) constraint stays the last word at commit.
 */
const WINDOW = 1024;

type DeviceSeqs = { floor: number; max: number; bits: Uint8Array };

export class SeenSeqs {
  readonly #devices = new Map<string, DeviceSeqs>();
  readonly #lookupMax: (deviceId: string) => number | null;
  readonly #lookupHas: (deviceId: string, seq: number) => boolean;

  constructor(lookup: { maxSeq(deviceId: string): number | null; hasReading(deviceId: string, seq: number): boolean }) {
    this.#lookupMax = (d) => lookup.maxSeq(d);
    this.#lookupHas = (d, s) => lookup.hasReading(d, s);
  }

  #state(deviceId: string): DeviceSeqs {
    let st = this.#devices.get(deviceId);
    if (!st) {
      const max = this.#lookupMax(deviceId) ?? -1;
      st = { floor: max, max, bits: new Uint8Array(WINDOW / 8) };
      this.#devices.set(deviceId, st);
    }
    return st;
  }

  /** True when (device, seq) is stored. */
  has(deviceId: string, seq: number): boolean {
    const st = this.#state(deviceId);
    if (seq > st.max) return false;
    if (seq > st.floor) {
      const i = seq - st.floor - 1;
      return (st.bits[i >> 3]! & (1 << (i & 7))) !== 0;
    }
    return this.#lookupHas(deviceId, seq);
  }

  /** Records a committed (device, seq). */
  add(deviceId: string, seq: number): void {
    const st = this.#state(deviceId);
    if (seq > st.max) st.max = seq;
    if (seq <= st.floor) return; // storage answers for these
    if (seq - st.floor > WINDOW) {
      // slide: keep the upper half of the window room above seq's neighbours
      const floor = seq - WINDOW / 2;
      const bits = new Uint8Array(WINDOW / 8);
      for (let s = floor + 1; s <= st.floor + WINDOW; s++) {
        const i = s - st.floor - 1;
        if (st.bits[i >> 3]! & (1 << (i & 7))) {
          const j = s - floor - 1;
          bits[j >> 3]! |= 1 << (j & 7);
        }
      }
      st.floor = floor;
      st.bits = bits;
    }
    const i = seq - st.floor - 1;
    st.bits[i >> 3]! |= 1 << (i & 7);
  }
}
