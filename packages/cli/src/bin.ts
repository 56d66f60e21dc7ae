#!/usr/bin/env node
import { register } from 'node:module';
import { main } from './main.js';

// plugins that import @local-cluster/* get the CLI's copies when their own install lacks them
register('./plugin-resolve.js', import.meta.url, { data: { fallbackParent: import.meta.url } });

// `local-cluster list | head` closes the pipe early: that is not an error
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw e;
});

process.exitCode = await main(process.argv.slice(2));
