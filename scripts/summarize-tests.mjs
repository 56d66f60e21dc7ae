// Adds up the vitest JSON reports of every package and the Deno report, prints one
// "N passed, N failed, N skipped" line, and fails when anything failed, or was skipped
// under CI (an engine-dependent test that skips in CI is a failure).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';

const root = new URL('..', import.meta.url).pathname;
const reports = process.argv.slice(2);
let passed = 0;
let failed = 0;
let skipped = 0;
const rows = [];
/** Each failed test: its file, its full name and the first lines of its error (printed last, where a CI log's tail shows them). */
const failures = [];
for (const report of reports) {
  const path = join(root, report);
  if (!existsSync(path)) {
    console.error(`missing test report ${report}`);
    failed += 1;
    continue;
  }
  const data = JSON.parse(readFileSync(path, 'utf8'));
  const p = data.numPassedTests ?? 0;
  const f = (data.numFailedTests ?? 0) + (data.numRuntimeErrorTestSuites ?? 0);
  const s = (data.numPendingTests ?? 0) + (data.numTodoTests ?? 0);
  rows.push(`  ${report.padEnd(44)} ${String(p).padStart(4)} passed ${String(f).padStart(3)} failed ${String(s).padStart(3)} skipped`);
  for (const file of data.testResults ?? []) {
    const name = file.name?.startsWith(root) ? file.name.slice(root.length) : file.name;
    const bad = (file.assertionResults ?? []).filter((t) => t.status === 'failed');
    for (const t of bad) failures.push({ where: `${name} > ${t.fullName ?? t.title}`, error: (t.failureMessages ?? []).join('\n') });
    // a file that failed outside its tests (an import, a hook): its own message
    if (!bad.length && file.status === 'failed' && file.message) failures.push({ where: name, error: file.message });
  }
  passed += p;
  failed += f;
  skipped += s;
}
console.log('Test reports:');
for (const row of rows) console.log(row);
if (process.env.CI && skipped > 0) {
  console.error(`${skipped} test(s) skipped under CI: every test must run here.`);
  failed += skipped;
}
if (failures.length) {
  console.log(`Failed (${failures.length}):`);
  for (const { where, error } of failures) {
    console.log(`  ✗ ${where}`);
    const lines = stripVTControlCharacters(error).split('\n').filter((l) => l.trim() && !/^\s+at /.test(l));
    for (const line of lines.slice(0, 6)) console.log(`      ${line.slice(0, 300)}`);
  }
}
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 ? 1 : 0);
