/**
 * Text from outside (names, labels, a device's strings) as the node stores it. One rule for what
 * stored text must not hold, used both to refuse it (operators' fields: `textFieldProblem`) and to
 * mask it (a device's health strings: `printable`).
 */

/** Control characters (C0, DEL, C1), line and paragraph separators, bidirectional controls. */
const UNFIT = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
const UNFIT_ALL = new RegExp(UNFIT.source, "g");

/**
 * The first character of `text` that stored text must not hold, written as `U+0000`; null when
 * there is none: a control character (C0, DEL, C1: PostgreSQL's text cannot hold a NUL and
 * SQLite's reads stop at one, so a name with one would come back cut or not at all), a line or
 * paragraph separator, or a bidirectional control (U+202A–U+202E, U+2066–U+2069: they make
 * `invoice\u202Efdp.exe` show as `invoiceexe.pdf`).
 */
function controlCharIn(text: string): string | null {
  const m = UNFIT.exec(text);
  return m ? `U+${m[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, "0")}` : null;
}

/**
 * A note for an operator's text field (label, file name) that is not fit to store, or null.
 * Lengths count characters (code points), not UTF-16 units.
 */
export function textFieldProblem(what: string, text: string, maxChars: number): string | null {
  const c = controlCharIn(text);
  if (c) return `${what} holds a control character (${c}); use printable text`;
  // a lone surrogate is not text: stored as UTF-8 it would come back as U+FFFD
  if (/\p{Cs}/u.test(text)) return `${what} is not valid Unicode (a lone surrogate); send it as UTF-8 text`;
  const chars = [...text].length;
  if (chars > maxChars) return `${what} is ${chars} characters long; the most is ${maxChars}`;
  return null;
}

/**
 * A device's text (firmware version, fault names) as stored: unfit characters and lone surrogates
 * (a cut can leave one) become U+FFFD. A NUL would cut the text on SQLite's reads and fail the
 * insert on PostgreSQL; an escape sequence has no place in a status page or a terminal.
 */
export function printable(text: string): string {
  return text.replace(/\p{Cs}/gu, "\ufffd").replace(UNFIT_ALL, "\ufffd");
}
