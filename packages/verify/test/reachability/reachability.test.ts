import { execFile } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AGNHOST_TOOLS,
  batchScript,
  BUSYBOX_TOOLS,
  describeFailures,
  describePolicyFailures,
  kubectlExec,
  type NetcheckTable,
  type NetworkProbe,
  parseBatch,
  type Probe,
  type ProbeTools,
  podNetworkTables,
  renderTable,
  runTable,
  toolboxServer,
  type TableSpec,
} from '../../src/index.js';

const pod = (name: string) => ({ name, pod: name });

function runScript(shell: string, script: string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    execFile(shell, ['-s'], (e, stdout) => (e ? reject(e) : resolve(stdout))).stdin!.end(script);
  });
}

describe('probes', () => {
  let port = 0;
  const server = createServer((req, res) => res.end(req.url === '/multi' ? `line one\n\tline two\n${'x'.repeat(1000)}\n` : 'backend-1\n'));
  beforeAll(() => new Promise<void>((r) => server.listen(0, '127.0.0.1', () => ((port = (server.address() as AddressInfo).port), r()))));
  afterAll(() => void server.close());

  // the script is what runs in the pods: bash in agnhost, busybox sh in the toolbox; here bash and dash (POSIX)
  it.each([
    ['agnhost tools (curl) under bash', AGNHOST_TOOLS, 'bash'],
    ['agnhost tools (curl) under a POSIX sh', AGNHOST_TOOLS, 'dash'],
    ['toolbox tools (wget, timeout) under a POSIX sh', BUSYBOX_TOOLS, 'dash'],
  ] as [string, ProbeTools, string][])('%s: runs every probe of a batch at once and reads back status and output per probe', async (_, tools, shell) => {
    const probes: Probe[] = [
      { kind: 'http', host: '127.0.0.1', port },
      { kind: 'http', host: '127.0.0.1', port: 1 },
      { kind: 'http', host: '127.0.0.1', port, count: 3 },
      { kind: 'http', host: '127.0.0.1', port, path: '/multi' },
    ];
    const [ok, refused, many, multi] = parseBatch(await runScript(shell, batchScript(probes, tools)), probes.length);
    expect(ok).toEqual({ ok: true, output: 'backend-1' });
    expect(refused!.ok).toBe(false);
    expect(refused!.output).not.toBe('');
    expect(many!.output.split(/\s+/)).toEqual(['backend-1', 'backend-1', 'backend-1']);
    // one line per probe whatever the answer holds, bounded
    expect(multi!.output.startsWith('line one line two xxx')).toBe(true);
    expect(multi!.output.length).toBe(400);
  });

  it('quotes hosts and payloads for the shell and pins UDP source ports', () => {
    expect(AGNHOST_TOOLS.command({ kind: 'udp', host: '10.96.0.10', port: 8081, sourcePort: 40123 })).toBe('echo hostname | nc -u -w 2 -p 40123 10.96.0.10 8081');
    expect(AGNHOST_TOOLS.command({ kind: 'dns', name: "a'b", type: 'A' })).toBe(`dig +short +time=2 +tries=2 'a'\\''b' A`);
    expect(AGNHOST_TOOLS.command({ kind: 'http', host: 'fd00::1', port: 80 })).toContain('http://[fd00::1]:80/hostname');
    expect(BUSYBOX_TOOLS.command({ kind: 'http', host: 'web.ns.svc.cluster.local', port: 80 })).toBe('timeout 3 wget -q -O - http://web.ns.svc.cluster.local:80/hostname');
  });

  it('the toolbox probes HTTP only: a DNS or UDP probe is refused, not sent', () => {
    expect(() => BUSYBOX_TOOLS.command({ kind: 'dns', name: 'x', type: 'A' })).toThrow(/agnhost/);
    expect(() => BUSYBOX_TOOLS.command({ kind: 'udp', host: '10.96.0.10', port: 8081 })).toThrow(/HTTP only/);
  });

  it('reports a missing result as a failed probe, and a silent failure by its exit status', () => {
    expect(parseBatch('0\t0\tx\n', 2)).toEqual([{ ok: true, output: 'x' }, { ok: false, output: 'no result' }]);
    expect(parseBatch('0\t143\t\n', 1)).toEqual([{ ok: false, output: 'exit status 143' }]);
  });

  it('execs in the source pod, in its own namespace if it has one, with the tools\' shell', async () => {
    const calls: [readonly string[], string | undefined][] = [];
    const exec = kubectlExec(async (args, stdin) => (calls.push([args, stdin]), ''), 'main');
    await exec({ name: 'a', pod: 'a' }, 'sh', 'script-a');
    await exec({ name: 'b', pod: 'b', namespace: 'other', container: 'c' }, 'bash', 'script-b');
    expect(calls).toEqual([
      [['-n', 'main', 'exec', '-i', 'a', '--', 'sh', '-s'], 'script-a'],
      [['-n', 'other', 'exec', '-i', 'b', '-c', 'c', '--', 'bash', '-s'], 'script-b'],
    ]);
  });
});

describe('tables', () => {
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
      exec: async (source, _shell, script) => {
        calls += 1;
        const n = (script.match(/\) &/g) ?? []).length;
        if (source.pod === 'a') return '0\t0\tsrv\n1\t7\tcurl: (7) refused\n';
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

  it('a negative control that answers is probed again, and fails when it keeps answering', async () => {
    const table = await runTable(spec, { intervalMs: 1, attempts: 3, exec: async (_, __, script) => ((script.match(/\) &/g) ?? []).length === 2 ? '0\t0\tsrv\n1\t0\tsomething outside\n' : '0\t0\tsomething outside\n') });
    expect(table.cells[1]).toMatchObject({ expected: false, observed: true, attempts: 3, answer: 'something outside' });
    expect(describeFailures(table.cells)).toBe('a -> t2: expected unreachable, answered "something outside" (3 attempt(s)); b -> t2: expected unreachable, answered "something outside" (3 attempt(s))');
  });

  it('runs the batch with the tools it is given, in their shell', async () => {
    const seen: string[] = [];
    await runTable(spec, { intervalMs: 1, attempts: 1, tools: BUSYBOX_TOOLS, exec: async (_, shell, script) => (seen.push(`${shell}: ${script.includes('wget') && !script.includes('curl')}`), '') });
    expect(seen).toEqual(['sh: true', 'sh: true']);
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

describe('the quick checks on the engine', () => {
  // three nodes; the pod on kube-node-2 is cut off from kube-node-1, and port 80 of the Service that lacks it "leaks"
  const nodes = ['kube-master', 'kube-node-1', 'kube-node-2'];
  const probe = (): NetworkProbe => {
    const servers = new Map(nodes.map((n, i) => [n, { node: n, pod: `srv-${i}`, ip: `10.244.${i}.5`, hostname: `srv-${i}` }]));
    return {
      kubectl: async () => '',
      namespace: 'lc-netcheck-test',
      server: toolboxServer('toolbox'),
      image: 'toolbox',
      nodes: nodes.map((n, i) => ({ name: n, ip: `10.243.0.${i + 2}` })),
      servers,
      hostServers: new Map(),
      pods: servers,
      serviceIp: '10.96.0.20',
      serviceDns: 'web.lc-netcheck-test.svc.cluster.local',
      nodePort: 30080,
      otherServiceIp: '10.96.0.21',
      unusedPodIp: '10.244.255.254',
    };
  };
  const answer = (from: string, url: string): string | undefined => {
    const host = /^http:\/\/([^:/]+):(\d+)/.exec(url)!;
    if (from === 'srv-1' && host[1] === '10.244.2.5') return undefined;
    if (host[1] === '10.96.0.21') return 'outside';
    if (host[1] === '10.244.255.254') return undefined;
    const byIp = /^10\.244\.(\d)\.5$/.exec(host[1]!);
    return byIp ? `srv-${byIp[1]}` : 'srv-0';
  };
  const kubectl = async (args: readonly string[], script?: string) => {
    const from = args[args.indexOf('-i') + 1]!;
    return script!
      .split('\n')
      .filter((l) => l.includes('wget'))
      .map((l, i) => {
        const got = answer(from, /wget -q -O - (\S+) ;/.exec(l)![1]!);
        return got === undefined ? `${i}\t1\twget: can't connect to remote host` : `${i}\t0\t${got}`;
      })
      .join('\n');
  };

  it('judges pod to pod across nodes, the Service, NodePort on every node and the negative controls, naming what differs', async () => {
    const p = probe();
    const cells = await podNetworkTables(kubectl, { ...p, kubectl }, { intervalMs: 1 });
    // pod to pod across nodes (3 x 2), ClusterIP and its DNS name (3 x 2), NodePort (3 x 3), two controls (3 x 2)
    expect(cells).toHaveLength(6 + 6 + 9 + 6);
    expect(cells.some((c) => c.source === `pod@${c.target.replace(/^pod@/, '')}`)).toBe(false);
    expect(cells.filter((c) => !c.expected).map((c) => c.target)).toEqual(Array(3).fill(['port 80 of service 10.96.0.21 (it has 8081 only)', 'pod-range address 10.244.255.254 (no pod)']).flat());
    const failures = describeFailures(cells).split('; ');
    expect(failures).toHaveLength(4);
    expect(failures[0]).toBe("pod@kube-node-1 -> pod@kube-node-2: expected reachable, wget: can't connect to remote host (6 attempt(s))");
    expect(failures.slice(1).every((f) => f.includes('-> port 80 of service 10.96.0.21 (it has 8081 only): expected unreachable, answered "outside"'))).toBe(true);
  });

  it('names the policy step, client and target of every cell that differs', () => {
    const step: NetcheckTable = {
      name: 'default-deny ingress: no client reaches the server',
      description: '',
      sources: [],
      targets: [],
      durationMs: 0,
      cells: [
        { source: 'ns/allowed', target: 'server by pod IP', expected: false, observed: true, attempts: 12, answer: 'server' },
        { source: 'ns/denied', target: 'server by pod IP', expected: false, observed: false, attempts: 1 },
      ],
    };
    expect(describePolicyFailures([step])).toBe('default-deny ingress: no client reaches the server: ns/allowed -> server by pod IP: expected unreachable, answered "server" (12 attempt(s))');
  });
});
