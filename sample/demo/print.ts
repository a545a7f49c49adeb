// The transcript: one line per step, a fixed label column, details indented under it.
const LABEL = 15;
const INDENT = ' '.repeat(LABEL + 2);

export const out = (text = ''): void => void process.stdout.write(`${text}\n`);
/** Writes without a line end: the rest of the line follows as it happens (streamed values). */
export const part = (text: string): void => void process.stdout.write(text);

export function step(ok: boolean | undefined, label: string, text: string): void {
  const mark = ok === undefined ? ' ' : ok ? '✓' : '✗';
  out(`${mark} ${label.padEnd(LABEL)}${text}`);
}

/** Lines under a step: `fields` as aligned `name  value` pairs. */
export function details(fields: Array<[string, unknown]>): void {
  fields = fields.filter(([, value]) => value !== undefined); // an unexpected answer lacks them: said below
  if (fields.length === 0) return;
  const width = Math.max(...fields.map(([name]) => name.length));
  for (const [name, value] of fields) out(`${INDENT}${name.padEnd(width)}  ${show(value)}`);
}

export function note(text: string): void {
  out(`${INDENT}${text}`);
}

export function show(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

/** 12345 → "12 345" */
export function count(n: number): string {
  return Math.round(n)
    .toString()
    .replace(/\B(?=(\d{3})+(?!\d))/g, ' ');
}

/** A line rewritten in place on a terminal; elsewhere (a pipe, a log) printed at most once a second. */
export class LiveLine {
  private readonly tty = process.stdout.isTTY === true;
  private lastPrinted = 0;

  update(text: string, now: number): void {
    if (this.tty) part(`\r${INDENT}${text}\x1b[K`);
    else if (now - this.lastPrinted >= 1_000) {
      this.lastPrinted = now;
      out(`${INDENT}${text}`);
    }
  }

  done(): void {
    if (this.tty) part('\r\x1b[K');
  }
}

/** A step line that grows as things happen; its mark comes last (on a terminal, put back in front). */
export class GrowingLine {
  private readonly tty = process.stdout.isTTY === true;
  private text: string;

  constructor(start: string) {
    this.text = `  ${start}`;
    if (this.tty) part(this.text);
  }

  add(text: string): void {
    this.text += text;
    if (this.tty) part(text);
  }

  end(ok: boolean): void {
    const mark = ok ? '✓' : '✗';
    if (this.tty) out(`\r${mark}`);
    else out(`${mark}${this.text.slice(1)}`);
  }
}
