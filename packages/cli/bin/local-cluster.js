#!/usr/bin/env node
// The package's bin: a committed file, so npm links it at install time even before the
// first build; the CLI itself is built to dist/ (`npm run build`, or ./local-cluster).
import '../dist/bin.js';
