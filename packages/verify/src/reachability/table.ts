/**
 * Reachability tables, as the sig-network "service table" tests print them:
 * one row per source, one column per target, `.` reachable and `X` not; the
 * expected table, the observed one and their comparison (`.` where they agree).
 */

/** One probe's outcome: from a source to a target. */
export interface NetcheckCell {
  source: string;
  target: string;
  expected: boolean;
  observed: boolean;
  /** How many times it was probed (cells are retried until they match or attempts run out). */
  attempts: number;
  /** What came back (a backend's hostname, DNS records), trimmed. */
  answer?: string;
  /** Why nothing valid came back (timeout, refused, an unexpected answer). */
  error?: string;
}

export interface NetcheckTable {
  /** `case/table`, e.g. `clusterip/tcp`. */
  name: string;
  description: string;
  sources: string[];
  targets: string[];
  cells: NetcheckCell[];
  durationMs: number;
}

export function tableMatches(table: NetcheckTable): boolean {
  return mismatches(table.cells).length === 0;
}

type Grid = (cell: NetcheckCell | undefined) => string;

const GRIDS: Record<'expected' | 'observed' | 'comparison', Grid> = {
  expected: (c) => (c ? (c.expected ? '.' : 'X') : ' '),
  observed: (c) => (c ? (c.observed ? '.' : 'X') : ' '),
  comparison: (c) => (c ? (c.expected === c.observed ? '.' : 'X') : ' '),
};

/** One grid: targets as numbered columns (their names in a legend), sources as rows. */
export function renderGrid(table: NetcheckTable, kind: keyof typeof GRIDS): string {
  const show = GRIDS[kind];
  const width = Math.max(1, ...table.sources.map((s) => s.length));
  const colWidth = Math.max(2, String(table.targets.length).length + 1);
  const header = `${'-'.padEnd(width)} ${table.targets.map((_, i) => String(i + 1).padStart(colWidth)).join('')}`;
  const rows = table.sources.map((source) => {
    const marks = table.targets.map((target) => show(table.cells.find((c) => c.source === source && c.target === target)).padStart(colWidth));
    return `${source.padEnd(width)} ${marks.join('')}`;
  });
  return [header, ...rows].join('\n');
}

/**
 * A table as text: a passing table shows its observed grid (equal to the
 * expected one); a failing one shows expected, observed and comparison, then
 * every mismatched cell with what came back.
 */
export function renderTable(table: NetcheckTable): string {
  const ok = tableMatches(table);
  const legend = table.targets.map((t, i) => `  ${String(i + 1).padStart(2)} ${t}`).join('\n');
  const parts = [`${ok ? 'PASS' : 'FAIL'} ${table.name}: ${table.description} (${(table.durationMs / 1000).toFixed(1)}s)`, legend];
  if (ok) parts.push(`observed (= expected):\n${renderGrid(table, 'observed')}`);
  else {
    parts.push(`expected:\n${renderGrid(table, 'expected')}`, `observed:\n${renderGrid(table, 'observed')}`, `comparison (X = differs):\n${renderGrid(table, 'comparison')}`);
    parts.push(mismatches(table.cells).map((c) => `  ${describeMismatch(c)}`).join('\n'));
  }
  return parts.join('\n');
}

/** The cells that differ from their expectation. */
export function mismatches(cells: readonly NetcheckCell[]): NetcheckCell[] {
  return cells.filter((c) => c.expected !== c.observed);
}

/** A mismatched cell in one line: `source -> target: expected reachable, <why not> (n attempt(s))`. */
export function describeMismatch(c: NetcheckCell): string {
  return `${c.source} -> ${c.target}: expected ${c.expected ? 'reachable' : 'unreachable'}, ${c.observed ? `answered ${JSON.stringify(c.answer ?? '')}` : (c.error ?? 'no answer')} (${c.attempts} attempt(s))`;
}
