import { describe, expect, it, vi, afterEach } from 'vitest';
import { isAbortedError, isEngineUnreachableError } from '@local-cluster/core';
import { dockerDriver, formatEndpoint, resolveEndpoint } from '../../src/index.js';

describe('info', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('reports the engine and the security mode it detected', async () => {
    const info = await dockerDriver().info();
    expect(info.driver).toBe('docker');
    expect(info.endpoint).toBe(formatEndpoint(resolveEndpoint({})));
    expect(info.engineVersion).toMatch(/^\d+\.\d+/);
    expect(info.apiVersion).toMatch(/^1\.\d+$/);
    expect([1, 2]).toContain(info.cgroupVersion);
    expect(typeof info.rootless).toBe('boolean');
    // by default nodes get a capability set, and nothing probes for --privileged
    expect(info.securityMode).toBe('capabilities');
    expect(info.privilegedSupported).toBeUndefined();
    console.info(`engine ${info.engineVersion} (API ${info.apiVersion}), cgroup v${info.cgroupVersion}, securityMode ${info.securityMode}`);
  });

  it('with securityMode always, probes whether the engine allows --privileged once per driver and leaves no probe behind', async () => {
    const driver = dockerDriver({ securityMode: 'always' });
    const first = await driver.info();
    const started = Date.now();
    const second = await driver.info();
    expect(typeof first.privilegedSupported).toBe('boolean');
    expect(second).toEqual(first);
    expect(Date.now() - started).toBeLessThan(1_000);
    const raw = await import('dockerode').then((m) => new m.default());
    const probes = await raw.listContainers({ all: true, filters: { ancestor: ['local-cluster/privileged-probe'] } });
    expect(probes).toEqual([]);
  });

  it('honours the securityMode option', async () => {
    expect((await dockerDriver({ securityMode: 'never' }).info()).securityMode).toBe('capabilities');
    expect((await dockerDriver({ securityMode: 'always' }).info()).securityMode).toBe('privileged');
  });

  it('names the endpoint when DOCKER_HOST points nowhere', async () => {
    vi.stubEnv('DOCKER_HOST', 'unix:///nonexistent.sock');
    const error: unknown = await dockerDriver().info().catch((e: unknown) => e);
    expect(isEngineUnreachableError(error)).toBe(true);
    expect((error as Error).message).toContain('not reachable at unix:///nonexistent.sock');
    expect((error as Error).message).toContain('DOCKER_HOST');
    expect((error as { endpoint: string }).endpoint).toBe('unix:///nonexistent.sock');
  });

  it('treats a refused TCP connection as unreachable', async () => {
    const error: unknown = await dockerDriver({ host: 'tcp://127.0.0.1:1' }).info().catch((e: unknown) => e);
    expect(isEngineUnreachableError(error)).toBe(true);
    expect((error as Error).message).toContain('tcp://127.0.0.1:1');
  });

  it('stops before calling the engine when the signal has fired', async () => {
    const error: unknown = await dockerDriver().info({ signal: AbortSignal.abort() }).catch((e: unknown) => e);
    expect(isAbortedError(error)).toBe(true);
  });
});
