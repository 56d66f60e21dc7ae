// Rewrites the configuration table of docs/user/configuration.md from the schema (the docs test checks they agree).
// Run after changing a setting: node scripts/config-table.mjs (needs `npm run build` first).
import { readFileSync, writeFileSync } from 'node:fs';
import { configTableMarkdown } from '../packages/cli/dist/index.js';

const file = new URL('../docs/user/configuration.md', import.meta.url);
const page = readFileSync(file, 'utf8');
const table = configTableMarkdown();
const header = table.split('\n')[0];
const start = page.indexOf(header);
if (start < 0) throw new Error('docs/user/configuration.md has no configuration table header to replace');
let end = start;
for (const line of page.slice(start).split('\n')) {
  if (!line.startsWith('|')) break;
  end += line.length + 1;
}
writeFileSync(file, page.slice(0, start) + table.replace(/\n?$/, '\n') + page.slice(end));
console.log('docs/user/configuration.md: configuration table rewritten');
