// Rewrites the README's configuration table from the schema (the docs test checks they agree).
// Run after changing a setting: node scripts/config-table.mjs (needs `npm run build` first).
import { readFileSync, writeFileSync } from 'node:fs';
import { configTableMarkdown } from '../packages/cli/dist/index.js';

const file = new URL('../README.md', import.meta.url);
const readme = readFileSync(file, 'utf8');
const table = configTableMarkdown();
const header = table.split('\n')[0];
const start = readme.indexOf(header);
if (start < 0) throw new Error('README.md has no configuration table header to replace');
let end = start;
for (const line of readme.slice(start).split('\n')) {
  if (!line.startsWith('|')) break;
  end += line.length + 1;
}
writeFileSync(file, readme.slice(0, start) + table.replace(/\n?$/, '\n') + readme.slice(end));
console.log('README.md: configuration table rewritten');
