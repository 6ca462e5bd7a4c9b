/**
 * CSV as HR systems export it (RFC 4180, read leniently) and as spreadsheets open it. Pure: no DOM, so node's tests
 * load it as it is (test/web/csv.test.ts).
 *
 * Reading: a header row; UTF-8 with or without a BOM (Excel writes one); CRLF or LF (or a lone CR, old Macs); fields
 * quoted with `"` where they hold the delimiter, a quote (doubled) or a line break. The delimiter is `,` or `;`
 * (Excel in much of Europe writes `;`, because `,` is the decimal mark there), told from the header row. The reader
 * goes a slice of rows at a time (`CsvReader.read(n)`), so that the page can give the browser its turn between
 * slices: 10,000 rows read in one go is one long task the page would freeze for.
 *
 * Writing: every cell that needs it quoted; and a cell that a spreadsheet would run as a formula (starting with
 * = + - @, or a tab or carriage return) prefixed with `'` (OWASP, "CSV Injection"): a failed-rows file holds what
 * someone typed into an HR system, and opening it must not run their formula.
 */

export type Delimiter = ',' | ';';

/** A problem with the file's shape, by the line it starts on (1 = the header). */
export interface CsvProblem {
  line: number;
  message: string;
}

/** The delimiter of a header line: the one of `,` and `;` that appears more often outside quotes (`,` on a tie). */
export function detectDelimiter(headerLine: string): Delimiter {
  let commas = 0;
  let semicolons = 0;
  let quoted = false;
  for (const ch of headerLine) {
    if (ch === '"') quoted = !quoted;
    else if (quoted) continue;
    else if (ch === ',') commas++;
    else if (ch === ';') semicolons++;
    else if (ch === '\n' || ch === '\r') break;
  }
  return semicolons > commas ? ';' : ',';
}

/** The text without its byte-order mark, which a decoder that was not told to drop it leaves as U+FEFF. */
export function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/**
 * Reads records a slice at a time. Blank lines are skipped (a trailing newline, an empty line between blocks); a
 * quote left open at the end of the file is a problem, and what followed it is kept as the field's value.
 */
export class CsvReader {
  readonly delimiter: Delimiter;
  readonly problems: CsvProblem[] = [];
  private readonly text: string;
  private pos = 0;
  /** The physical line `pos` is on, from 1. */
  private line = 1;
  /** The line the last record returned started on. */
  private lines: number[] = [];

  constructor(text: string, delimiter?: Delimiter) {
    this.text = stripBom(text);
    this.delimiter = delimiter ?? detectDelimiter(this.text.slice(0, this.firstLineEnd()));
  }

  get done(): boolean {
    return this.pos >= this.text.length;
  }

  /** How far through the text the reader is, from 0 to 1: for a progress bar while reading a large file. */
  get fraction(): number {
    return this.text.length === 0 ? 1 : this.pos / this.text.length;
  }

  /** The line each record of the last `read` started on, in the same order. */
  get startLines(): readonly number[] {
    return this.lines;
  }

  /** Up to `max` more records (fewer at the end of the text; none once `done`). */
  read(max: number): string[][] {
    const out: string[][] = [];
    this.lines = [];
    while (out.length < max && !this.done) {
      const start = this.line;
      const record = this.record();
      // A blank line is one empty field: nothing to import.
      if (record.length === 1 && record[0] === '') continue;
      out.push(record);
      this.lines.push(start);
    }
    return out;
  }

  private firstLineEnd(): number {
    // The header's end, outside quotes (a quoted header name may hold a line break, rarely as that is).
    let quoted = false;
    for (let i = 0; i < this.text.length; i++) {
      const ch = this.text[i];
      if (ch === '"') quoted = !quoted;
      else if (!quoted && (ch === '\n' || ch === '\r')) return i;
    }
    return this.text.length;
  }

  /** One record from `pos`, which is left after its line break. */
  private record(): string[] {
    const t = this.text;
    const d = this.delimiter;
    const fields: string[] = [];
    let field = '';
    let i = this.pos;
    for (;;) {
      if (t[i] === '"') {
        // A quoted field: up to the next quote that is not doubled.
        const openedOn = this.line;
        i++;
        let closed = false;
        while (i < t.length) {
          const q = t.indexOf('"', i);
          if (q === -1) {
            field += this.countLines(t.slice(i));
            i = t.length;
            break;
          }
          field += this.countLines(t.slice(i, q));
          if (t[q + 1] === '"') {
            field += '"';
            i = q + 2;
          } else {
            i = q + 1;
            closed = true;
            break;
          }
        }
        if (!closed) this.problems.push({ line: openedOn, message: 'a quoted field is not closed before the end of the file' });
        // Anything between the closing quote and the delimiter (`"a"b`) is kept, as spreadsheets do.
        while (i < t.length && t[i] !== d && t[i] !== '\n' && t[i] !== '\r') field += t[i++];
      } else {
        // An unquoted field: up to the delimiter or the line's end; a quote inside it is an ordinary character.
        let j = i;
        while (j < t.length && t[j] !== d && t[j] !== '\n' && t[j] !== '\r') j++;
        field += t.slice(i, j);
        i = j;
      }
      fields.push(field);
      field = '';
      if (i >= t.length) break;
      if (t[i] === d) {
        i++;
        // A delimiter at the very end of the text still ends a field: the record has an empty last field.
        if (i >= t.length) {
          fields.push('');
          break;
        }
        continue;
      }
      // A line break: CRLF, LF or a lone CR.
      i += t[i] === '\r' && t[i + 1] === '\n' ? 2 : 1;
      this.line++;
      break;
    }
    this.pos = i;
    return fields;
  }

  /** Counts the line breaks inside a quoted field's text (for the line numbers of later records); returns the text. */
  private countLines(s: string): string {
    for (let k = s.indexOf('\n'); k !== -1; k = s.indexOf('\n', k + 1)) this.line++;
    // Lone CRs count too; a CRLF was counted once at its LF.
    for (let k = s.indexOf('\r'); k !== -1; k = s.indexOf('\r', k + 1)) if (s[k + 1] !== '\n') this.line++;
    return s;
  }
}

/** Every record of a text at once: for small texts and tests (the page reads in slices). */
export function parseCsv(text: string, delimiter?: Delimiter): { delimiter: Delimiter; rows: string[][]; problems: CsvProblem[] } {
  const reader = new CsvReader(text, delimiter);
  const rows: string[][] = [];
  while (!reader.done) rows.push(...reader.read(10_000));
  return { delimiter: reader.delimiter, rows, problems: reader.problems };
}

/** A cell a spreadsheet would take for a formula (OWASP: = + - @, and tab and carriage return before them). */
const FORMULA = /^[=+\-@\t\r]/;

/** One cell as written: defused if it would be a formula, quoted if it holds the delimiter, a quote or a line break. */
export function csvCell(value: string | number | boolean | null | undefined, delimiter: Delimiter = ','): string {
  let s = value === null || value === undefined ? '' : String(value);
  // Only text is defused: a number we write ourselves (a row number) is never negative, and -3 as text would be.
  if (typeof value === 'string' && FORMULA.test(s)) s = `'${s}`;
  const needsQuotes = s.includes(delimiter) || s.includes('"') || s.includes('\n') || s.includes('\r') || /^\s|\s$/.test(s);
  return needsQuotes ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * Records as CSV text: CRLF line ends (RFC 4180) and, with `bom`, a UTF-8 byte-order mark first, without which
 * Excel reads UTF-8 as the machine's legacy code page and garbles every name with an accent.
 */
export function writeCsv(rows: readonly (readonly (string | number | boolean | null | undefined)[])[], options: { delimiter?: Delimiter; bom?: boolean } = {}): string {
  const d = options.delimiter ?? ',';
  const body = rows.map((r) => r.map((c) => csvCell(c, d)).join(d)).join('\r\n');
  return (options.bom ? '\ufeff' : '') + body + (rows.length > 0 ? '\r\n' : '');
}
