import { createSocket } from 'node:dgram';
import { request } from 'node:http';
import type { NetcheckCell, NetcheckTable } from './table.js';
import { type Kubectl, LocalClusterError, sleep } from '@local-cluster/core';

/**
 * What one cell sends. Every probe is bounded in time (a few seconds), so a
 * packet that goes nowhere is an `X`, never a hang.
 */
export type Probe =
  /** HTTP GET; the answer is the body (the servers' /hostname: the backend's name). `count` > 1: that many requests, answers one per line. */
  | {
      kind: 'http';
      host: string;
      port: number;
      path?: string;
      count?: number;
      /** The Host header (an ingress's host name) when it differs from `host`. */
      hostHeader?: string;
      /** Append the response's status as ` HTTP<code>` to the answer (a 404 or 503 is an answer then, not a failure). */
      status?: boolean;
    }
  /** A UDP datagram (netexec answers `hostname` with its name); `sourcePort` pins the flow (conntrack). */
  | { kind: 'udp'; host: string; port: number; payload?: string; sourcePort?: number }
  /** A DNS query through the pod's resolver; the answer is `dig +short`'s lines. */
  | { kind: 'dns'; name: string; type: 'A' | 'AAAA' | 'CNAME' };

/** A pod probes run in (through `kubectl exec`); `namespace` when it is not the table's. */
export interface PodSource {
  name: string;
  pod: string;
  namespace?: string;
  container?: string;
}

/** Where probes start: a pod or this machine. */
export type Source = PodSource | { name: string; host: true };

export interface CellSpec {
  source: Source;
  target: string;
  probe: Probe;
  /** Whether the target must answer (false: a negative control). */
  expect: boolean;
  /** Whether an answer counts as reaching the target (default: any non-empty answer). */
  accept?: (answer: string) => boolean;
  /** Why an answer was not accepted, for the report. */
  describe?: (answer: string) => string;
}

export interface TableSpec {
  name: string;
  description: string;
  cells: CellSpec[];
}

const TIMEOUT_S = 3;

/** The shell and commands the source pods' image has: each probe as one shell command, bounded in time. */
export interface ProbeTools {
  name: string;
  /** What runs the batch script (`<shell> -s`, the script on stdin). */
  shell: string;
  command(probe: Probe): string;
}

/** `count` requests, one connection each (no keep-alive, so each is load-balanced anew), answers one per line. */
function repeat(one: string, count: number | undefined): string {
  if (!count || count <= 1) return one;
  return `k=0; while [ $k -lt ${count} ]; do ${one} || exit 1; echo; k=$((k+1)); done`;
}

function url(probe: { host: string; port: number; path?: string }): string {
  return `http://${bracket(probe.host)}:${probe.port}${probe.path ?? '/hostname'}`;
}

/** agnhost (what `netcheck` deploys): bash, curl, netcat-openbsd and dig; no coreutils. */
export const AGNHOST_TOOLS: ProbeTools = {
  name: 'agnhost',
  shell: 'bash',
  command(probe) {
    switch (probe.kind) {
      case 'http': {
        const extra = `${probe.hostHeader ? ` -H ${quote(`Host: ${probe.hostHeader}`)}` : ''}${probe.status ? ` -w ${quote(' HTTP%{http_code}')}` : ''}`;
        return repeat(`curl -sS --max-time ${TIMEOUT_S}${extra} ${quote(url(probe))}`, probe.count);
      }
      case 'udp':
        return `echo ${quote(probe.payload ?? 'hostname')} | nc -u -w ${TIMEOUT_S - 1}${probe.sourcePort ? ` -p ${probe.sourcePort}` : ''} ${quote(probe.host)} ${probe.port}`;
      case 'dns':
        return `dig +short +time=2 +tries=2 ${quote(probe.name)} ${probe.type}`;
    }
  },
};

/** The toolbox image every node preloads (what the quick checks deploy): busybox sh, wget, timeout. HTTP only. */
export const BUSYBOX_TOOLS: ProbeTools = {
  name: 'busybox',
  shell: 'sh',
  command(probe) {
    // busybox-static's `wget -T` segfaults (Debian bookworm): bounded by `timeout` instead
    if (probe.kind === 'http' && probe.status) throw new LocalClusterError('An HTTP probe of the status code needs the agnhost tools (curl); the busybox toolbox has wget only.');
    if (probe.kind === 'http') return repeat(`timeout ${TIMEOUT_S} wget -q -O -${probe.hostHeader ? ` --header ${quote(`Host: ${probe.hostHeader}`)}` : ''} ${quote(url(probe))}`, probe.count);
    throw new LocalClusterError(`A ${probe.kind} probe needs the agnhost tools (dig, netcat); the busybox toolbox probes HTTP only.`);
  },
};

function bracket(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

function quote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/**
 * One POSIX shell script (bash, dash and busybox sh alike) running every probe in parallel, printing
 * `index<TAB>status<TAB>output` per probe in one write (whitespace runs as one space, at most 400 characters).
 */
export function batchScript(probes: readonly Probe[], tools: ProbeTools = AGNHOST_TOOLS): string {
  const lines = probes.map(
    (p, i) => `( out=$( { ${tools.command(p)} ; } 2>&1 ); rc=$?; set -f; set -- $out; printf '%s\\t%s\\t%.400s\\n' ${i} "$rc" "$*" ) &`,
  );
  return [...lines, 'wait', ''].join('\n');
}

export interface ProbeResult {
  ok: boolean;
  output: string;
}

export function parseBatch(output: string, count: number): ProbeResult[] {
  const results: ProbeResult[] = Array.from({ length: count }, () => ({ ok: false, output: 'no result' }));
  for (const line of output.split('\n')) {
    const m = /^(\d+)\t(\d+)\t(.*)$/.exec(line);
    if (!m) continue;
    const i = Number(m[1]);
    const output = m[3]!.trim();
    // a probe killed by its time bound says nothing: its status does
    if (i < count) results[i] = { ok: m[2] === '0', output: output || (m[2] === '0' ? '' : `exit status ${m[2]}`) };
  }
  return results;
}

/** Probes from this machine: HTTP and UDP (DNS of the cluster is not this machine's). */
/** One HTTP GET from this machine with a Host header of its own (fetch does not send one it is given). */
function hostGet(probe: Extract<Probe, { kind: 'http' }>): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const req = request(url(probe), { headers: { host: probe.hostHeader ?? probe.host }, timeout: TIMEOUT_S * 1000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ ok: true, output: `${body.trim().split(/\s+/).join(' ')}${probe.status ? ` HTTP${res.statusCode}` : ''}`.trim() }));
      res.on('error', (e) => resolve({ ok: false, output: (e as NodeJS.ErrnoException).code ?? e.message }));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
    req.on('error', (e) => resolve({ ok: false, output: (e as NodeJS.ErrnoException).code ?? e.message }));
    req.end();
  });
}

export async function hostProbe(probe: Probe): Promise<ProbeResult> {
  if (probe.kind === 'http' && (probe.hostHeader || probe.status)) {
    const answers: string[] = [];
    for (let k = 0; k < (probe.count ?? 1); k += 1) {
      const r = await hostGet(probe);
      if (!r.ok) return r;
      answers.push(r.output);
    }
    return { ok: true, output: answers.join(' ') };
  }
  if (probe.kind === 'http') {
    const answers: string[] = [];
    for (let k = 0; k < (probe.count ?? 1); k += 1) {
      try {
        const res = await fetch(url(probe), { signal: AbortSignal.timeout(TIMEOUT_S * 1000) });
        answers.push((await res.text()).trim());
      } catch (e) {
        const cause = (e as { cause?: { code?: string } }).cause?.code;
        return { ok: false, output: cause ?? (e as Error).name };
      }
    }
    return { ok: true, output: answers.join(' ') };
  }
  if (probe.kind === 'udp') {
    return new Promise((resolve) => {
      const socket = createSocket(probe.host.includes(':') ? 'udp6' : 'udp4');
      const done = (r: ProbeResult) => {
        clearTimeout(timer);
        socket.close();
        resolve(r);
      };
      const timer = setTimeout(() => done({ ok: true, output: '' }), (TIMEOUT_S - 1) * 1000);
      socket.once('message', (msg) => done({ ok: true, output: msg.toString().trim() }));
      socket.once('error', (e) => done({ ok: false, output: (e as NodeJS.ErrnoException).code ?? e.message }));
      const send = () => socket.send(probe.payload ?? 'hostname', probe.port, probe.host);
      if (probe.sourcePort) socket.bind(probe.sourcePort, send);
      else send();
    });
  }
  return { ok: false, output: 'DNS probes run in pods only' };
}

/** Runs a batch script in a source pod with `<shell> -s` and returns what it printed. */
export type PodExec = (source: PodSource, shell: string, script: string) => Promise<string>;

/** `kubectl exec` into the source pod, in its namespace or else `namespace`. */
export function kubectlExec(kubectl: Kubectl, namespace: string): PodExec {
  return (source, shell, script) =>
    kubectl(['-n', source.namespace ?? namespace, 'exec', '-i', source.pod, ...(source.container ? ['-c', source.container] : []), '--', shell, '-s'], script);
}

export interface RunTableOptions {
  exec: PodExec;
  /** What the source pods' image has to probe with. Default: agnhost's. */
  tools?: ProbeTools;
  /** Probe rounds: cells that do not match yet are probed again (rules are programmed asynchronously). Default 6. */
  attempts?: number;
  /** Pause between rounds. Default 2000 ms. */
  intervalMs?: number;
  signal?: AbortSignal;
}

/**
 * Probes every cell of a table: each source runs its pending probes at once,
 * sources in parallel, and cells that do not yet match their expectation are
 * retried for a bounded number of rounds. A cell's `observed` is whether a
 * valid answer came back on its last attempt.
 */
export async function runTable(spec: TableSpec, options: RunTableOptions): Promise<NetcheckTable> {
  const started = performance.now();
  const attempts = options.attempts ?? 6;
  const tools = options.tools ?? AGNHOST_TOOLS;
  const cells: NetcheckCell[] = spec.cells.map((c) => ({ source: c.source.name, target: c.target, expected: c.expect, observed: false, attempts: 0 }));
  let pending = spec.cells.map((_, i) => i);
  for (let round = 0; round < attempts && pending.length; round += 1) {
    if (round > 0) await sleep(options.intervalMs ?? 2000, options.signal);
    options.signal?.throwIfAborted();
    const bySource = new Map<string, number[]>();
    for (const i of pending) bySource.set(spec.cells[i]!.source.name, [...(bySource.get(spec.cells[i]!.source.name) ?? []), i]);
    await Promise.all(
      [...bySource.values()].map(async (indexes) => {
        const source = spec.cells[indexes[0]!]!.source;
        const probes = indexes.map((i) => spec.cells[i]!.probe);
        let results: ProbeResult[];
        if ('host' in source) results = await Promise.all(probes.map(hostProbe));
        else {
          const out = await options.exec(source, tools.shell, batchScript(probes, tools)).catch((e: Error) => `exec failed: ${e.message}`);
          results = parseBatch(out, probes.length);
          if (out.startsWith('exec failed:')) results = results.map(() => ({ ok: false, output: out.split('\n')[0]! }));
        }
        indexes.forEach((i, k) => judge(spec.cells[i]!, cells[i]!, results[k]!));
      }),
    );
    pending = pending.filter((i) => cells[i]!.observed !== cells[i]!.expected);
  }
  return {
    name: spec.name,
    description: spec.description,
    sources: unique(spec.cells.map((c) => c.source.name)),
    targets: unique(spec.cells.map((c) => c.target)),
    cells,
    durationMs: performance.now() - started,
  };
}

/** What one attempt at a cell says: reachable when the probe succeeded and its answer is accepted; otherwise why not. */
export function judge(spec: CellSpec, cell: NetcheckCell, result: ProbeResult): void {
  cell.attempts += 1;
  delete cell.answer;
  delete cell.error;
  const accept = spec.accept ?? ((a: string) => a.length > 0);
  if (result.output) cell.answer = result.output;
  if (!result.ok) {
    cell.observed = false;
    cell.error = result.output || 'failed';
  } else if (accept(result.output)) cell.observed = true;
  else {
    cell.observed = false;
    cell.error = spec.describe?.(result.output) ?? (result.output ? `unexpected answer ${JSON.stringify(result.output)}` : 'no answer');
  }
}

function unique<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}
