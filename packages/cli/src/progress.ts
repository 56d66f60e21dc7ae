import type { ProgressEvent, ProgressListener } from '@local-cluster/core';

export type ProgressMode = 'tty' | 'plain' | 'json';

export function progressMode(json: boolean, stream: NodeJS.WriteStream = process.stderr): ProgressMode {
  if (json) return 'json';
  return stream.isTTY ? 'tty' : 'plain';
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

/**
 * Renders engine events: steps with durations on a TTY, plain lines
 * otherwise, JSON events (one per line) on request. Progress goes to stderr so
 * stdout stays for results.
 */
export function progressRenderer(mode: ProgressMode, verbose: number, out: NodeJS.WritableStream = process.stderr): ProgressListener {
  return (event: ProgressEvent) => {
    if (mode === 'json') {
      out.write(JSON.stringify(event) + '\n');
      return;
    }
    if (verbose < 1 && event.type !== 'rollback') return;
    switch (event.type) {
      case 'step-start':
        out.write(mode === 'tty' ? `• ${event.title} ...\n` : `${event.title} ...\n`);
        break;
      case 'step-end':
        if (mode === 'tty') out.write(`${event.ok ? '\u2713' : '\u2717'} ${event.title} (${seconds(event.durationMs)})\n`);
        else out.write(`${event.title}: ${event.ok ? 'done' : 'failed'} in ${seconds(event.durationMs)}\n`);
        break;
      case 'log':
        if (event.level === 'warn' || verbose >= 2 || (event.level === 'info' && verbose >= 1)) {
          out.write(`  ${event.level === 'warn' ? 'warning: ' : ''}${event.message}\n`);
        }
        break;
      case 'rollback':
        out.write(`  rolled back: ${event.action}${event.ok ? '' : ` (failed: ${event.error})`}\n`);
        break;
    }
  };
}

/** One line per finished test of an upstream suite (`e2e`, `e2e-node`): a JSON event, or with -v a PASS/SKIP/FAIL line. */
export function specPrinter(
  mode: ProgressMode,
  verbose: number,
  out: NodeJS.WritableStream = process.stderr,
): (e: { done: number; total: number; name: string; state: string; seconds: number }) => void {
  return (e) => {
    if (mode === 'json') out.write(JSON.stringify({ type: 'test-end', ...e }) + '\n');
    else if (verbose >= 1) {
      const word = e.state === 'passed' ? 'PASS' : e.state === 'skipped' ? 'SKIP' : 'FAIL';
      out.write(`[${e.done}/${e.total}] ${word} ${e.name} (${e.seconds.toFixed(1)}s)\n`);
    }
  };
}
