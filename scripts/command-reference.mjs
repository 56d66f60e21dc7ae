// Rewrites the command reference of docs/user/commands.md (between <!-- commands:start --> and
// <!-- commands:end -->) from the CLI's command definitions (the docs test checks they agree).
// Run after changing a command or a flag: node scripts/command-reference.mjs (needs `npm run build` first).
import { readFileSync, writeFileSync } from 'node:fs';
import { commandReferenceMarkdown } from '../packages/cli/dist/index.js';

const START = '<!-- commands:start -->';
const END = '<!-- commands:end -->';
const file = new URL('../docs/user/commands.md', import.meta.url);
const page = readFileSync(file, 'utf8');
const start = page.indexOf(START);
const end = page.indexOf(END);
if (start < 0 || end < start) throw new Error(`docs/user/commands.md has no ${START} ... ${END} section to replace`);
const reference = await commandReferenceMarkdown();
writeFileSync(file, `${page.slice(0, start)}${START}\n\n${reference.replace(/\n?$/, '\n')}\n${page.slice(end)}`);
console.log('docs/user/commands.md: command reference rewritten');
