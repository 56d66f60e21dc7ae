import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { batchScript, netcheckCaseNames, type NetcheckTable, parseBatch, probeCommand, renderTable, runTable, selectCases, type TableSpec } from '../../src/index.js';

const pod = (name: string) => ({ name, pod: name });

describe('netcheck probes', () => {
  it('runs every probe of a batch in one bash script and reads back status and output per probe', async () => {
    // a real bash and curl against a local server: the script is what runs in the agnhost pods
    const server = createServer((_, res) => res.end('backend-1\n'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    try {
      const script = batchScript([
        { kind: 'http', host: '127.0.0.1', port },
        { kind: 'http', host: '127.0.0.1', port: 1 },
        { kind: 'http', host: '127.0.0.1', port, count: 3 },
      ]);
      const out = await new Promise<string>((resolve, reject) => {
        execFile('bash', ['-s'], (e, stdout) => (e ? reject(e) : resolve(stdout))).stdin!.end(script);
      });
      const [ok, refused, many] = parseBatch(out, 3);
      expect(ok).toEqual({ ok: true, output: 'backend-1' });
      expect(refused!.ok).toBe(false);
      expect(refused!.output).toMatch(/curl: \(7\)/);
      expect(many!.output.split(/\s+/)).toEqual(['backend-1', 'backend-1', 'backend-1']);
    } finally {
      server.close();
    }
  });

  it('quotes hosts and payloads for the shell and pins UDP source ports', () => {
    expect(probeCommand({ kind: 'udp', host: '10.96.0.10', port: 8081, sourcePort: 40123 })).toBe('echo hostname | nc -u -w 2 -p 40123 10.96.0.10 8081');
    expect(probeCommand({ kind: 'dns', name: "a'b", type: 'A' })).toBe(`dig +short +time=2 +tries=2 'a'\\''b' A`);
    expect(probeCommand({ kind: 'http', host: 'fd00::1', port: 80 })).toContain('http://[fd00::1]:80/hostname');
  });

  it('reports a missing result as a failed probe', () => {
    expect(parseBatch('0\t0\tx\n', 2)).toEqual([{ ok: true, output: 'x' }, { ok: false, output: 'no result' }]);
  });
});

describe('netcheck tables', () => {
  const spec: TableSpec = {
    name: 'demo/tcp',
    description: 'demo',
    cells: [
      { source: pod('a'), target: 't1', probe: { kind: 'http', host: '1.1.1.1', port: 80 }, expect: true, accept: (x) => x === 'srv' },
      { source: pod('a'), target: 't2', probe: { kind: 'http', host: '1.1.1.2', port: 80 }, expect: false },
      { source: pod('b'), target: 't1', probe: { kind: 'http', host: '1.1.1.1', port: 80 }, expect: true, accept: (x) => x === 'srv' },
      { source: pod('b'), target: 't2', probe: { kind: 'http', host: '1.1.1.2', port: 80 }, expect: false },
    ],
  };

  it('retries only cells that differ from their expectation, and counts attempts', async () => {
    let calls = 0;
    const table = await runTable(spec, {
      intervalMs: 1,
      attempts: 4,
      // pod a answers at once; pod b's rules appear on its third round; t2 never answers
      exec: async (p, _c, script) => {
        calls += 1;
        const n = (script.match(/\) &/g) ?? []).length;
        if (p === 'a') return '0\t0\tsrv\n1\t7\tcurl: (7) refused\n';
        const round = calls;
        return n === 2 ? '0\t7\trefused\n1\t7\trefused\n' : round >= 4 ? '0\t0\tsrv\n' : '0\t28\ttimeout\n';
      },
    });
    const cell = (s: string, t: string) => table.cells.find((c) => c.source === s && c.target === t)!;
    expect(cell('a', 't1')).toMatchObject({ observed: true, attempts: 1, answer: 'srv' });
    expect(cell('a', 't2')).toMatchObject({ observed: false, attempts: 1 });
    expect(cell('b', 't2')).toMatchObject({ observed: false, attempts: 1 });
    expect(cell('b', 't1').observed).toBe(true);
    expect(cell('b', 't1').attempts).toBeGreaterThan(1);
  });

  it('a wrong answer is not reachability: the cell says who answered', async () => {
    const table = await runTable(spec, { intervalMs: 1, attempts: 1, exec: async () => '0\t0\tsomeone-else\n1\t7\tx\n' });
    expect(table.cells[0]).toMatchObject({ observed: false, error: 'unexpected answer "someone-else"' });
  });

  it('prints the observed grid when the table passes, and expected/observed/comparison with the cells when it fails', () => {
    const base: NetcheckTable = { name: 'demo/tcp', description: 'demo', sources: ['pod@a', 'pod@b'], targets: ['t1', 't2'], durationMs: 1000, cells: [] };
    const cells = (bObserved: boolean) => [
      { source: 'pod@a', target: 't1', expected: true, observed: true, attempts: 1 },
      { source: 'pod@a', target: 't2', expected: false, observed: false, attempts: 1 },
      { source: 'pod@b', target: 't1', expected: true, observed: bObserved, attempts: 6, error: 'timeout' },
      { source: 'pod@b', target: 't2', expected: false, observed: false, attempts: 1 },
    ];
    const pass = renderTable({ ...base, cells: cells(true) });
    expect(pass).toContain('PASS demo/tcp');
    expect(pass).toContain('observed (= expected):\n-      1 2\npod@a  . X\npod@b  . X');
    const fail = renderTable({ ...base, cells: cells(false) });
    expect(fail).toContain('FAIL demo/tcp');
    expect(fail).toContain('observed:\n-      1 2\npod@a  . X\npod@b  X X');
    expect(fail).toContain('comparison (X = differs):\n-      1 2\npod@a  . .\npod@b  X .');
    expect(fail).toContain('pod@b -> t1: expected reachable, timeout (6 attempt(s))');
  });
});

describe('netcheck cases', () => {
  it('refuses unknown case names, naming them and the known ones', () => {
    expect(() => selectCases(['clusterip', 'nope'])).toThrow(/Unknown netcheck case: nope/);
    try {
      selectCases(['nope']);
    } catch (e) {
      expect((e as { hint: string }).hint).toContain('pod-to-pod');
    }
  });

  it('keeps the canonical order whatever order they are named in', () => {
    expect(selectCases(['terminating', 'pod-to-pod']).map((c) => c.name)).toEqual(['pod-to-pod', 'terminating']);
    expect(selectCases([]).map((c) => c.name)).toEqual(netcheckCaseNames());
  });
});
