// Writes dist/config.schema.json from the zod schema, for editors (yaml-language-server).
import { writeFileSync } from 'node:fs';
import { configJsonSchema } from '../dist/index.js';

writeFileSync(new URL('../dist/config.schema.json', import.meta.url), JSON.stringify(configJsonSchema(), null, 2) + '\n');
