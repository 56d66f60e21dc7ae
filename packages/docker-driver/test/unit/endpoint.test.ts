import { describe, expect, it } from 'vitest';
import { isConfigError } from '@local-cluster/core';
import { dockerodeOptions, formatEndpoint, parseDockerHost, resolveEndpoint } from '../../src/endpoint.js';

describe('parseDockerHost', () => {
  it.each([
    ['unix:///var/run/docker.sock', { kind: 'unix', socketPath: '/var/run/docker.sock' }],
    ['unix:///run/user/1000/docker.sock', { kind: 'unix', socketPath: '/run/user/1000/docker.sock' }],
    ['tcp://10.0.0.5:2375', { kind: 'tcp', host: '10.0.0.5', port: 2375, tls: false }],
    ['tcp://docker.example:2376', { kind: 'tcp', host: 'docker.example', port: 2376, tls: true }],
    ['tcp://localhost', { kind: 'tcp', host: 'localhost', port: 2375, tls: false }],
    ['localhost:1234', { kind: 'tcp', host: 'localhost', port: 1234, tls: false }],
    ['ssh://me@builder', { kind: 'ssh', host: 'builder', port: 22, username: 'me' }],
    ['npipe:////./pipe/docker_engine', { kind: 'npipe', socketPath: '//./pipe/docker_engine' }],
  ])('%s', (value, expected) => {
    expect(parseDockerHost(value)).toEqual(expected);
  });

  it('uses TLS and port 2376 when DOCKER_TLS_VERIFY is set', () => {
    expect(parseDockerHost('tcp://engine', true)).toEqual({ kind: 'tcp', host: 'engine', port: 2376, tls: true });
  });

  it.each(['unix://relative.sock', 'ftp://engine:21', 'https://engine', 'tcp://'])('rejects %s with a ConfigError naming DOCKER_HOST', (value) => {
    let error: unknown;
    try {
      parseDockerHost(value);
    } catch (e) {
      error = e;
    }
    expect(isConfigError(error)).toBe(true);
    expect(error).toMatchObject({ setting: 'DOCKER_HOST', source: { kind: 'env', name: 'DOCKER_HOST' } });
    expect((error as Error).message).toContain(value);
  });
});

describe('resolveEndpoint', () => {
  it('prefers socketPath, then host, then DOCKER_HOST', () => {
    const env = { DOCKER_HOST: 'tcp://from-env:2375' };
    expect(resolveEndpoint({ socketPath: '/s.sock', host: 'tcp://h:1' }, env)).toEqual({ kind: 'unix', socketPath: '/s.sock' });
    expect(resolveEndpoint({ host: 'tcp://h:1' }, env)).toEqual({ kind: 'tcp', host: 'h', port: 1, tls: false });
    expect(resolveEndpoint({}, env)).toEqual({ kind: 'tcp', host: 'from-env', port: 2375, tls: false });
  });

  it('falls back to a unix socket', () => {
    expect(resolveEndpoint({}, {}).kind).toBe('unix');
  });

  it('reports a bad host option as a library setting', () => {
    expect(() => resolveEndpoint({ host: 'ftp://x' }, {})).toThrow(/Invalid Docker host "ftp:\/\/x"/);
  });
});

describe('formatEndpoint', () => {
  it('writes endpoints the way users write DOCKER_HOST', () => {
    expect(formatEndpoint({ kind: 'unix', socketPath: '/var/run/docker.sock' })).toBe('unix:///var/run/docker.sock');
    expect(formatEndpoint({ kind: 'tcp', host: 'h', port: 2375, tls: false })).toBe('tcp://h:2375');
    expect(formatEndpoint({ kind: 'ssh', host: 'h', port: 22, username: 'u' })).toBe('ssh://u@h:22');
  });
});

describe('dockerodeOptions', () => {
  it('clears the host for unix sockets, so DOCKER_HOST cannot leak in through docker-modem', () => {
    const options = dockerodeOptions({ kind: 'unix', socketPath: '/x.sock' }, {});
    expect(options).toMatchObject({ socketPath: '/x.sock', protocol: 'http' });
    expect('host' in options && options.host).toBeFalsy();
  });

  it('connects over http or https for tcp', () => {
    expect(dockerodeOptions({ kind: 'tcp', host: 'h', port: 2375, tls: false }, {})).toMatchObject({ host: 'h', port: 2375, protocol: 'http' });
    expect(dockerodeOptions({ kind: 'tcp', host: 'h', port: 2376, tls: true }, {})).toMatchObject({ protocol: 'https' });
  });
});
