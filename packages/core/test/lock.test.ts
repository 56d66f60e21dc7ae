import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { lockFile, withClusterLock } from '../src/index.js';
import { withWaitingLock } from '../src/lock-file.js';

const home = () => mkdtempSync(join(tmpdir(), 'lc-lock-'));

function holdAs(h: string, pid: number, command: string): void {
  mkdirSync(join(h, 'locks'), { recursive: true });
  writeFileSync(lockFile(h, 'c'), JSON.stringify({ pid, host: hostname(), command, startedAt: new Date(Date.now() - 12_000).toISOString() }));
}

describe('withClusterLock', () => {
  it('holds the lock while the command runs, re-entrant within a process, and releases it', async () => {
    const h = home();
    await withClusterLock(h, 'c', 'local-cluster up --name c', async () => {
      expect(JSON.parse(readFileSync(lockFile(h, 'c'), 'utf8'))).toMatchObject({ pid: process.pid, command: 'local-cluster up --name c' });
      await withClusterLock(h, 'c', 'local-cluster down --name c', async () => undefined);
      expect(existsSync(lockFile(h, 'c'))).toBe(true);
    });
    expect(existsSync(lockFile(h, 'c'))).toBe(false);
  });

  it('refuses while another live process holds it, naming its command', async () => {
    const h = home();
    holdAs(h, process.ppid, 'local-cluster up --name c');
    await expect(withClusterLock(h, 'c', 'local-cluster clean --name c', async () => 'ran')).rejects.toThrow(/Cluster "c" is busy: `local-cluster up --name c` \(pid \d+\) has been running for 1\d s/);
  });

  it('takes over a lock whose process is gone', async () => {
    const h = home();
    holdAs(h, 2 ** 22 + 12345, 'local-cluster up --name c');
    expect(await withClusterLock(h, 'c', 'local-cluster clean --name c', async () => 'ran')).toBe('ran');
  });

  it('releases the lock when the command fails', async () => {
    const h = home();
    await expect(withClusterLock(h, 'c', 'x', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(existsSync(lockFile(h, 'c'))).toBe(false);
  });
});

describe('withWaitingLock (one build of an image at a time)', () => {
  it('waits while another live process holds the lock, says who, then runs once that process is gone', async () => {
    const file = join(home(), 'locks', 'image.lock');
    mkdirSync(join(file, '..'), { recursive: true });
    const other = spawn('sleep', ['1.5']);
    const gone = new Promise((resolve) => other.once('exit', resolve));
    writeFileSync(file, JSON.stringify({ pid: other.pid, host: hostname(), command: 'build of node:1', startedAt: new Date().toISOString() }));
    const waitedFor: number[] = [];
    let ranAfterExit = false;
    await withWaitingLock(file, 'build of node:1', { signal: new AbortController().signal, onWait: (h) => waitedFor.push(h.pid) }, async () => {
      ranAfterExit = other.exitCode !== null || other.signalCode !== null;
      expect(JSON.parse(readFileSync(file, 'utf8')).pid).toBe(process.pid);
    });
    await gone;
    expect(waitedFor).toEqual([other.pid]);
    expect(ranAfterExit).toBe(true);
    expect(existsSync(file)).toBe(false);
  });

  it('stops waiting when its signal aborts', async () => {
    const file = join(home(), 'locks', 'image.lock');
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(file, JSON.stringify({ pid: process.ppid, host: hostname(), command: 'build of node:1', startedAt: new Date().toISOString() }));
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('interrupted')), 300);
    let ran = false;
    await expect(withWaitingLock(file, 'x', { signal: controller.signal, onWait: () => undefined }, async () => void (ran = true))).rejects.toThrow('interrupted');
    expect(ran).toBe(false);
  });
});
