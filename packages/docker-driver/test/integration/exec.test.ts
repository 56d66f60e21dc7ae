import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAbortedError, isExecError, type NodeHandle } from '@local-cluster/core';
import { dockerDriver } from '../../src/index.js';
import { ensureBusyboxImage } from '../fixtures/busybox-image.js';
import { removeCluster, sleeperSpec, uniqueClusterName } from '../helpers.js';

const driver = dockerDriver();
const cluster = uniqueClusterName();
let node: NodeHandle;

beforeAll(async () => {
  const image = await ensureBusyboxImage(driver);
  node = await driver.createNode(sleeperSpec(cluster, image, 'exec'));
});

afterAll(async () => {
  await removeCluster(driver, cluster);
});

describe('run and exec', () => {
  it('separates stdout and stderr and returns the exit code', async () => {
    const result = await node.run(['sh', '-c', 'echo out; echo err >&2; exit 3']);
    expect(result).toEqual({ stdout: 'out\n', stderr: 'err\n', exitCode: 0 + 3 });
  });

  it('round-trips stdin through cat (string, bytes, stream)', async () => {
    expect((await node.run(['cat'], { stdin: 'hello\nworld' })).stdout).toBe('hello\nworld');
    expect((await node.run(['cat'], { stdin: new TextEncoder().encode('bytes ✓') })).stdout).toBe('bytes ✓');
    expect((await node.run(['cat'], { stdin: Readable.from(['one ', 'two']) })).stdout).toBe('one two');
  });

  it('closes stdin when none is given, so readers see EOF', async () => {
    expect(await node.run(['cat'])).toEqual({ stdout: '', stderr: '', exitCode: 0 });
  });

  it('moves megabytes both ways', async () => {
    const big = 'x'.repeat(1024 * 1024 - 1) + '\n';
    expect((await node.run(['wc', '-c'], { stdin: big.repeat(3) })).stdout.trim()).toBe(String(3 * 1024 * 1024));
    const echoed = await node.run(['cat'], { stdin: big });
    expect(echoed.stdout.length).toBe(big.length);
    expect(echoed.stdout === big).toBe(true);
  });

  it('completes a command that exits without reading its stdin', async () => {
    const result = await node.run(['head', '-c', '5'], { stdin: 'y'.repeat(8 * 1024 * 1024) });
    expect(result).toEqual({ stdout: 'yyyyy', stderr: '', exitCode: 0 });
    expect((await node.run(['true'], { stdin: Readable.from([Buffer.alloc(4 * 1024 * 1024)]) })).exitCode).toBe(0);
  });

  it('refuses an empty argv', async () => {
    await expect(node.run([])).rejects.toThrow(/empty/);
  });

  it('passes env, user and working directory', async () => {
    const result = await node.exec(['sh', '-c', 'echo "$FOO"; id -u; pwd'], { env: { FOO: 'bar baz' }, user: '1000', workdir: '/tmp' });
    expect(result.stdout).toBe('bar baz\n1000\n/tmp\n');
  });

  it('throws ExecError with the argv, exit code and output on failure', async () => {
    const argv = ['sh', '-c', 'echo partial; echo broken >&2; exit 7'];
    const error: unknown = await node.exec(argv).catch((e: unknown) => e);
    expect(isExecError(error)).toBe(true);
    expect(error).toMatchObject({ node: node.name, argv, exitCode: 7, stdout: 'partial\n', stderr: 'broken\n' });
    expect((error as Error).message).toContain('exited with code 7');
    expect((error as Error).message).toContain('broken');
  });

  it('reports a missing command as a non-zero exit', async () => {
    const result = await node.run(['/no/such/command']);
    expect(result.exitCode).not.toBe(0);
  });

  it('stops waiting when the signal fires', async () => {
    const started = Date.now();
    const error: unknown = await node.run(['sleep', '30'], { signal: AbortSignal.timeout(300) }).catch((e: unknown) => e);
    expect(isAbortedError(error)).toBe(true);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});
