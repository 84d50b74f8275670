/**
 * A progress line on stderr for long runs (`carbonproof device sign-csv`, `carbonproof-oracle
 * import`): on a terminal one line rewritten in place, at most every `ttyEveryMs`; otherwise (a
 * log file, a CI job) a whole line at most every `everyMs`, so that a log gets a few lines, not
 * one per row. Nothing is written before the first interval has passed: a short run prints none.
 */
export class ProgressLine {
  readonly #write: (text: string) => void;
  readonly #tty: boolean;
  readonly #now: () => number;
  readonly #everyMs: number;
  readonly #startMs: number;
  #lastMs: number;
  /** a line is on the terminal, not ended by a line break */
  #shown = false;

  constructor(opts: {
    write: (text: string) => void;
    /** stderr is a terminal */
    tty: boolean;
    now?: () => number;
    ttyEveryMs?: number;
    everyMs?: number;
  }) {
    this.#write = opts.write;
    this.#tty = opts.tty;
    this.#now = opts.now ?? (() => performance.now());
    this.#everyMs = opts.tty ? (opts.ttyEveryMs ?? 250) : (opts.everyMs ?? 5000);
    this.#startMs = this.#lastMs = this.#now();
  }

  /** Seconds since the start. */
  elapsedS(): number {
    return (this.#now() - this.#startMs) / 1000;
  }

  /** `count / elapsed`, as a whole number per second. */
  rate(count: number): number {
    const s = this.elapsedS();
    return s > 0 ? Math.round(count / s) : 0;
  }

  /** Shows `line()` when an interval has passed since the last one (call it as often as you like). */
  update(line: () => string): void {
    const now = this.#now();
    if (now - this.#lastMs < this.#everyMs) return;
    this.#lastMs = now;
    if (this.#tty) {
      this.#write(`\r\u001b[2K${line()}`);
      this.#shown = true;
    } else this.#write(`${line()}\n`);
  }

  /** Writes `text` (whole lines) to stderr, below the progress line on a terminal. */
  log(text: string): void {
    this.done();
    this.#write(text);
  }

  /** Clears the progress line from the terminal, before the final report. */
  done(): void {
    if (this.#shown) this.#write("\r\u001b[2K");
    this.#shown = false;
  }
}

/** `n` with thousands separators, as progress and counts print it. */
export const formatCount = (n: number): string => n.toLocaleString("en-US");
