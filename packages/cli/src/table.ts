/** Prints aligned columns to stdout, like kubectl's tables. */
export function printTable(header: string[], rows: string[][], out: NodeJS.WritableStream = process.stdout): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  for (const row of [header, ...rows]) {
    out.write(row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('   ') + '\n');
  }
}
