import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { ProgressEvent } from '@local-cluster/core';
import { progressRenderer } from '../src/progress.js';

const events: ProgressEvent[] = [
  { type: 'step-start', step: 'boot', title: 'Boot nodes', at: 0 },
  { type: 'log', step: 'boot', level: 'info', message: 'systemd running' },
  { type: 'log', step: 'boot', level: 'debug', message: 'kubeadm output' },
  { type: 'step-end', step: 'boot', title: 'Boot nodes', ok: true, durationMs: 1234 },
];

function render(mode: 'tty' | 'plain' | 'json', verbose: number): string {
  let out = '';
  const sink = new Writable({ write: (chunk, _enc, done) => ((out += chunk.toString()), done()) });
  const listener = progressRenderer(mode, verbose, sink);
  for (const e of events) listener(e);
  return out;
}

describe('progress', () => {
  it('plain lines with durations when not on a TTY', () => {
    expect(render('plain', 1)).toBe('Boot nodes ...\n  systemd running\nBoot nodes: done in 1.2s\n');
  });

  it('steps with marks and durations on a TTY', () => {
    expect(render('tty', 1)).toContain('\u2713 Boot nodes (1.2s)');
  });

  it('verbose 0 is quiet, verbose 2 adds command output', () => {
    expect(render('plain', 0)).toBe('');
    expect(render('plain', 2)).toContain('kubeadm output');
    expect(render('plain', 1)).not.toContain('kubeadm output');
  });

  it('JSON events, one per line, on request', () => {
    const lines = render('json', 0).trim().split('\n');
    expect(lines.map((l) => JSON.parse(l).type)).toEqual(['step-start', 'log', 'log', 'step-end']);
  });
});
