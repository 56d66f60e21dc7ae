import { describe, expect, it } from 'vitest';
import { isConfigError } from '@local-cluster/core';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { dockerodeOptions, engineLocation, formatEndpoint, parseDockerHost, resolveEndpoint, resolveEngine } from '../../src/endpoint.js';

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
    const options = dockerodeOptions({ kind: 'unix', socketPath: '/x.sock' });
    expect(options).toMatchObject({ socketPath: '/x.sock', protocol: 'http' });
    expect('host' in options && options.host).toBeFalsy();
  });

  it('connects over http or https for tcp', () => {
    expect(dockerodeOptions({ kind: 'tcp', host: 'h', port: 2375, tls: false })).toMatchObject({ host: 'h', port: 2375, protocol: 'http' });
    expect(dockerodeOptions({ kind: 'tcp', host: 'h', port: 2376, tls: true })).toMatchObject({ protocol: 'https' });
  });
});

describe('engineLocation', () => {
  it.each([
    [{ kind: 'unix', socketPath: '/var/run/docker.sock' } as const, false, '127.0.0.1'],
    [{ kind: 'tcp', host: '127.0.0.1', port: 2376, tls: true } as const, false, '127.0.0.1'],
    [{ kind: 'tcp', host: 'localhost', port: 2375, tls: false } as const, false, '127.0.0.1'],
    [{ kind: 'ssh', host: '::1', port: 22, username: undefined } as const, false, '127.0.0.1'],
    [{ kind: 'tcp', host: 'build-box.lan', port: 2376, tls: true } as const, true, 'build-box.lan'],
    [{ kind: 'ssh', host: '10.1.2.3', port: 22, username: 'me' } as const, true, '10.1.2.3'],
  ])('%o: remote %s, published ports at %s', (endpoint, remote, address) => {
    expect(engineLocation(endpoint)).toEqual({ remote, address });
  });
});

/** A CA, and a client certificate and key it signed, made by openssl (as users make them). */
function makeTlsDir(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca-key.pem', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=test-ca');
  run('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'key.pem', '-out', 'client.csr', '-subj', '/CN=client');
  run('x509', '-req', '-in', 'client.csr', '-CA', 'ca.pem', '-CAkey', 'ca-key.pem', '-CAcreateserial', '-out', 'cert.pem', '-days', '2');
}

describe('resolveEngine', () => {
  let dir: string;
  let certs: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'lc-endpoint-'));
    certs = join(dir, 'certs');
    makeTlsDir(certs);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const contextDir = (config: string, name: string) => join(config, 'contexts', 'meta', createHash('sha256').update(name).digest('hex'));
  function writeContext(config: string, name: string, host: string, tlsFrom?: string): void {
    mkdirSync(contextDir(config, name), { recursive: true });
    writeFileSync(join(contextDir(config, name), 'meta.json'), JSON.stringify({ Name: name, Metadata: {}, Endpoints: { docker: { Host: host, SkipTLSVerify: false } } }));
    if (tlsFrom) {
      const tls = join(config, 'contexts', 'tls', createHash('sha256').update(name).digest('hex'), 'docker');
      mkdirSync(tls, { recursive: true });
      for (const f of ['ca.pem', 'cert.pem', 'key.pem']) writeFileSync(join(tls, f), readFileSync(join(tlsFrom, f)));
    }
  }

  it('reads DOCKER_HOST with DOCKER_TLS_VERIFY and DOCKER_CERT_PATH', () => {
    const target = resolveEngine({}, { DOCKER_HOST: 'tcp://127.0.0.1:23760', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: certs });
    expect(target.endpoint).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 23760, tls: true });
    expect(target.origin).toBe('DOCKER_HOST');
    expect(target.tls).toMatchObject({ verify: true, dir: certs });
    expect(target.tls?.ca?.toString()).toContain('BEGIN CERTIFICATE');
    const options = dockerodeOptions(target.endpoint, target.tls);
    expect(options).toMatchObject({ protocol: 'https', host: '127.0.0.1', port: 23760 });
    expect(options.ca).toBeDefined();
  });

  it('takes the TLS files from the config directory when DOCKER_CERT_PATH is unset', () => {
    const config = join(dir, 'cfg-default-certs');
    makeTlsDir(config);
    expect(resolveEngine({}, { DOCKER_HOST: 'tcp://h:2376', DOCKER_TLS_VERIFY: '1', DOCKER_CONFIG: config }).tls?.dir).toBe(config);
  });

  it.each([
    ['ca.pem', 'missing', /Cannot read the TLS CA certificate .*ca\.pem \(ENOENT\)/],
    ['cert.pem', 'garbage', /TLS certificate .*cert\.pem is not valid PEM/],
    ['key.pem', 'garbage', /TLS client key .*key\.pem is not valid PEM/],
  ])('names %s when it is %s', (file, how, message) => {
    const bad = join(dir, `bad-${file}-${how}`);
    makeTlsDir(bad);
    if (how === 'missing') rmSync(join(bad, file));
    else writeFileSync(join(bad, file), 'not a pem\n');
    let error: unknown;
    try {
      resolveEngine({}, { DOCKER_HOST: 'tcp://h:2376', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: bad });
    } catch (e) {
      error = e;
    }
    expect(isConfigError(error)).toBe(true);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).toContain(join(bad, file));
    expect(error).toMatchObject({ setting: 'DOCKER_CERT_PATH' });
  });

  it('refuses a key that does not belong to the certificate', () => {
    const other = join(dir, 'other');
    makeTlsDir(other);
    const mixed = join(dir, 'mixed');
    makeTlsDir(mixed);
    writeFileSync(join(mixed, 'key.pem'), readFileSync(join(other, 'key.pem')));
    expect(() => resolveEngine({}, { DOCKER_HOST: 'tcp://h:2376', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: mixed })).toThrow(/does not belong to the certificate/);
  });

  it('follows DOCKER_CONTEXT, with the context\'s TLS files', () => {
    const config = join(dir, 'cfg-context');
    writeContext(config, 'remote-box', 'tcp://10.9.8.7:2376', certs);
    const target = resolveEngine({}, { DOCKER_CONFIG: config, DOCKER_CONTEXT: 'remote-box' });
    expect(target.endpoint).toEqual({ kind: 'tcp', host: '10.9.8.7', port: 2376, tls: true });
    expect(target.origin).toBe('Docker context "remote-box" (DOCKER_CONTEXT)');
    expect(target.tls).toMatchObject({ verify: true });
    expect(target.tls?.cert).toBeDefined();
  });

  it('follows currentContext in config.json; DOCKER_CONTEXT wins over it and DOCKER_HOST over both', () => {
    const config = join(dir, 'cfg-current');
    writeContext(config, 'builder', 'ssh://me@builder.lan');
    writeContext(config, 'other', 'tcp://other.lan:2375');
    writeFileSync(join(config, 'config.json'), JSON.stringify({ auths: {}, currentContext: 'builder' }));
    const fromFile = resolveEngine({}, { DOCKER_CONFIG: config });
    expect(fromFile.endpoint).toEqual({ kind: 'ssh', host: 'builder.lan', port: 22, username: 'me' });
    expect(fromFile.origin).toBe(`Docker context "builder" (currentContext in ${join(config, 'config.json')})`);
    expect(resolveEngine({}, { DOCKER_CONFIG: config, DOCKER_CONTEXT: 'other' }).endpoint).toMatchObject({ host: 'other.lan' });
    expect(resolveEngine({}, { DOCKER_CONFIG: config, DOCKER_CONTEXT: 'other', DOCKER_HOST: 'unix:///x.sock' }).endpoint).toEqual({ kind: 'unix', socketPath: '/x.sock' });
    expect(resolveEngine({}, { DOCKER_CONFIG: config, DOCKER_CONTEXT: 'default' }).origin).toBe('the default socket');
  });

  it('names a context that does not exist and where it was chosen', () => {
    const config = join(dir, 'cfg-missing');
    mkdirSync(config, { recursive: true });
    let error: unknown;
    try {
      resolveEngine({}, { DOCKER_CONFIG: config, DOCKER_CONTEXT: 'nope' });
    } catch (e) {
      error = e;
    }
    expect(isConfigError(error)).toBe(true);
    expect((error as Error).message).toContain('Docker context "nope" (DOCKER_CONTEXT) does not exist');
    expect(error).toMatchObject({ setting: 'DOCKER_CONTEXT' });
  });
});
