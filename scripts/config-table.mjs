// Prints the README's config table from the zod schema (the single source).
// `node scripts/config-table.mjs` after changing a setting; a test checks the README matches.
import { configTableMarkdown } from '../packages/cli/dist/index.js';

process.stdout.write(configTableMarkdown() + '\n');
