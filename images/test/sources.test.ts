import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { configSchema, isConfigError, type ImageBuildContext } from '@local-cluster/core';
import { binarySources, downloadVerified, nodeImage, sourcesKey, stageOverrides } from '../src/index.js';

const sum = (algo: string, data: string | Buffer) => createHash(algo).update(data).digest('hex');
const tmp = () => mkdtempSync(join(tmpdir(), 'lc-sources-'));

function ctx(): ImageBuildContext {
  const noop = () => {};
  return {
    driver: undefined as never,
    logger: { info: noop, debug: noop, warn: noop },
    signal: new AbortController().signal,
    cacheDir: tmp(),
    labels: {},
  };
}

describe('downloads are verified', () => {
  const dir = tmp();
  const file = join(dir, 'kubeadm');
  writeFileSync(file, 'fake kubeadm');
  const url = pathToFileURL(file).href;

  it('accepts a matching SHA-1 or SHA-256', async () => {
    await downloadVerified(url, sum('sha1', 'fake kubeadm'), join(dir, 'a'), 'source.kubeadmUrl');
    await downloadVerified(url, sum('sha256', 'fake kubeadm').toUpperCase(), join(dir, 'b'), 'source.kubeadmUrl');
    expect(readFileSync(join(dir, 'b'), 'utf8')).toBe('fake kubeadm');
  });

  it('a mismatch is a ConfigError naming the setting and both sums, and writes nothing', async () => {
    const wrong = '0'.repeat(64);
    const error = await downloadVerified(url, wrong, join(dir, 'c'), 'source.kubeadmUrl').catch((e: unknown) => e);
    expect(isConfigError(error)).toBe(true);
    expect((error as Error).message).toContain('source.kubeadmUrl');
    expect((error as Error).message).toContain(`expected sha256 ${wrong}`);
    expect((error as Error).message).toContain(`got ${sum('sha256', 'fake kubeadm')}`);
    expect(existsSync(join(dir, 'c'))).toBe(false);
  });

  it('downloads over HTTP from a local server', async () => {
    const server = createServer((req, res) => {
      if (req.url === '/kubectl') res.end('fake kubectl');
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      await downloadVerified(`${base}/kubectl`, sum('sha1', 'fake kubectl'), join(dir, 'kubectl'), 'source.kubectlUrl');
      expect(readFileSync(join(dir, 'kubectl'), 'utf8')).toBe('fake kubectl');
      await expect(downloadVerified(`${base}/missing`, sum('sha1', 'x'), join(dir, 'm'), 'source.kubectlUrl')).rejects.toThrow(/HTTP 404/);
    } finally {
      server.close();
    }
  });
});

describe('binary sources', () => {
  it('the defaults build everything from Go modules', () => {
    const sources = binarySources(configSchema.parse({}));
    expect(sources).toEqual({ fromSource: [], downloads: [] });
  });

  it('stages prebuilt binaries, a verified single download and binaries out of a server tarball', async () => {
    const dir = tmp();
    const binDir = join(dir, 'prebuilt');
    mkdirSync(binDir);
    writeFileSync(join(binDir, 'kubectl'), 'prebuilt kubectl');
    writeFileSync(join(binDir, 'README'), 'ignored');
    writeFileSync(join(dir, 'kubeadm'), 'downloaded kubeadm');
    mkdirSync(join(dir, 'kubernetes/server/bin'), { recursive: true });
    writeFileSync(join(dir, 'kubernetes/server/bin/kubelet'), 'tarball kubelet');
    execFileSync('tar', ['-czf', join(dir, 'server.tar.gz'), '-C', dir, 'kubernetes']);
    const tarball = readFileSync(join(dir, 'server.tar.gz'));
    const config = configSchema.parse({
      source: {
        binDir,
        kubeadmUrl: pathToFileURL(join(dir, 'kubeadm')).href,
        kubeadmSha1: sum('sha1', 'downloaded kubeadm'),
        hyperkubeUrl: pathToFileURL(join(dir, 'server.tar.gz')).href,
        hyperkubeSha1: sum('sha256', tarball),
      },
    });
    const sources = binarySources(config);
    const out = join(dir, 'staged');
    await stageOverrides(sources, out, 'v1.34.4', ctx());
    expect(readFileSync(join(out, 'bin/kubectl'), 'utf8')).toBe('prebuilt kubectl');
    expect(readFileSync(join(out, 'bin/kubeadm'), 'utf8')).toBe('downloaded kubeadm');
    expect(readFileSync(join(out, 'bin/kubelet'), 'utf8')).toBe('tarball kubelet');
    expect(existsSync(join(out, 'bin/README'))).toBe(false);

    // another image, and another again when a prebuilt binary changes
    const ref = nodeImage(config).ref;
    expect(ref).not.toBe(nodeImage(configSchema.parse({})).ref);
    const key = sourcesKey(sources);
    writeFileSync(join(binDir, 'kubectl'), 'rebuilt kubectl');
    expect(sourcesKey(binarySources(config))).not.toBe(key);
  });

  it('a source tree without go.mod is a clear error', async () => {
    const config = configSchema.parse({ source: { buildKubeadm: true, k8sDir: tmp() } });
    const error = await stageOverrides(binarySources(config), join(tmp(), 'o'), 'v1.34.4', ctx()).catch((e: unknown) => e);
    expect(isConfigError(error)).toBe(true);
    expect((error as Error).message).toContain('source.k8sDir');
  });

  it('a binDir with no Kubernetes binaries is a clear error', () => {
    const config = configSchema.parse({ source: { binDir: tmp() } });
    expect(() => nodeImage(config)).toThrow(/source\.binDir .* holds none of/);
  });
});
