import { describe, expect, it } from 'vitest';
import Docker from 'dockerode';
import { isAbortedError, isDriverError, isEngineUnreachableError } from '@local-cluster/core';
import { createServer, type AddressInfo } from 'node:net';
import { answeringCheck, translateError } from '../../src/api.js';

const ctx = { docker: new Docker({ socketPath: '/nonexistent.sock' }), endpoint: 'unix:///nonexistent.sock' };

describe('translateError', () => {
  it.each(['ENOENT', 'ECONNREFUSED'])('turns %s into EngineUnreachableError naming the endpoint', (code) => {
    const error = translateError(ctx, 'list nodes', Object.assign(new Error(`connect ${code}`), { code }));
    expect(isEngineUnreachableError(error)).toBe(true);
    expect(error.message).toContain('unix:///nonexistent.sock');
  });

  it('keeps the engine message and status code of an API error', () => {
    const error = translateError(ctx, 'create node x', Object.assign(new Error('(HTTP code 409) conflict'), { statusCode: 409, json: { message: 'name in use' } }));
    expect(isDriverError(error)).toBe(true);
    expect(error).toMatchObject({ operation: 'create node x', statusCode: 409, message: 'create node x: name in use' });
  });

  it('turns aborts into AbortedError', () => {
    const abort = Object.assign(new Error('aborted'), { name: 'AbortError' });
    expect(isAbortedError(translateError(ctx, 'save images', abort))).toBe(true);
  });

  it('gives a permission hint for EACCES', () => {
    const error = translateError(ctx, 'info', Object.assign(new Error('EACCES'), { code: 'EACCES' }));
    expect(isDriverError(error)).toBe(true);
    expect(error.hint).toMatch(/docker group/);
  });

  it('names DOCKER_HOST (or the context) and the reason when the engine is configured', () => {
    const remote = { ...ctx, endpoint: 'tcp://10.0.0.9:2376', origin: 'DOCKER_HOST', fix: 'fix or unset DOCKER_HOST' };
    const error = translateError(remote, 'list nodes', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
    expect(error.message).toBe('The container engine is not reachable at tcp://10.0.0.9:2376 (from DOCKER_HOST): connection refused. Start it or fix or unset DOCKER_HOST.');
  });

  it('turns a failed TLS handshake into an error naming the address and the TLS files', () => {
    const remote = { ...ctx, endpoint: 'tcp://h:2376', origin: 'DOCKER_HOST', tlsDir: '/certs' };
    const error = translateError(remote, 'info', Object.assign(new Error('self-signed certificate in certificate chain'), { code: 'SELF_SIGNED_CERT_IN_CHAIN' }));
    expect(isDriverError(error)).toBe(true);
    expect(error.message).toContain('the TLS handshake with tcp://h:2376 (from DOCKER_HOST) failed');
    expect(error.hint).toContain('/certs');
  });

  it('says to turn TLS on when the engine speaks TLS and the client did not', () => {
    const error = translateError(ctx, 'info', Object.assign(new Error('(HTTP code 400) unexpected'), { statusCode: 400, json: { message: 'Client sent an HTTP request to an HTTPS server.' } }));
    expect(error.hint).toContain('DOCKER_TLS_VERIFY=1');
  });
});

describe('answeringCheck', () => {
  it('reports an endpoint that accepts connections but never answers as unreachable, once for every caller', { timeout: 40_000 }, async () => {
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as AddressInfo).port;
    try {
      const docker = new Docker({ host: '127.0.0.1', port, protocol: 'http' });
      const check = answeringCheck({ docker, endpoint: `tcp://127.0.0.1:${port}`, origin: 'DOCKER_HOST', fix: 'fix or unset DOCKER_HOST' });
      const started = Date.now();
      const [a, b] = await Promise.all([check().catch((e: unknown) => e), check().catch((e: unknown) => e)]);
      expect(a).toBe(b);
      expect(isEngineUnreachableError(a)).toBe(true);
      expect((a as Error).message).toContain(`tcp://127.0.0.1:${port} (from DOCKER_HOST): no answer within 20 s`);
      expect(Date.now() - started).toBeLessThan(30_000);
    } finally {
      silent.close();
    }
  });

  it('stops waiting when the caller\'s signal fires', async () => {
    const silent = createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as AddressInfo).port;
    try {
      const check = answeringCheck({ docker: new Docker({ host: '127.0.0.1', port, protocol: 'http' }), endpoint: `tcp://127.0.0.1:${port}` });
      const error = await check(AbortSignal.timeout(200)).catch((e: unknown) => e);
      expect(isAbortedError(error)).toBe(true);
    } finally {
      silent.close();
    }
  });
});
