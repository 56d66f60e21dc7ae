import { describe, expect, it } from 'vitest';
import { imageChanges, parseImageRef, progressError } from '../../src/images.js';

describe('parseImageRef', () => {
  it.each([
    ['busybox', { repo: 'busybox', tag: 'latest' }],
    ['local-cluster/node:v1.34.4', { repo: 'local-cluster/node', tag: 'v1.34.4' }],
    ['registry.k8s.io/kube-proxy:v1.34.4', { repo: 'registry.k8s.io/kube-proxy', tag: 'v1.34.4' }],
    ['localhost:5000/foo', { repo: 'localhost:5000/foo', tag: 'latest' }],
    ['localhost:5000/foo:bar', { repo: 'localhost:5000/foo', tag: 'bar' }],
  ])('%s', (ref, expected) => {
    expect(parseImageRef(ref)).toEqual(expected);
  });

  it('refuses digests as a target', () => {
    expect(() => parseImageRef('foo@sha256:abc')).toThrow(/digests/);
  });
});

describe('imageChanges', () => {
  it('writes Dockerfile instructions with JSON argv and quoted values', () => {
    expect(
      imageChanges({
        labels: { 'a.b': 'plain', q: 'say "hi" to $USER \\ now' },
        entrypoint: ['/usr/local/bin/entrypoint', '/sbin/init'],
        cmd: [],
        env: { container: 'docker', PATH: '/usr/bin:/bin' },
        workdir: '/root',
      }),
    ).toEqual([
      'ENTRYPOINT ["/usr/local/bin/entrypoint","/sbin/init"]',
      'CMD []',
      'ENV container="docker"',
      'ENV PATH="/usr/bin:/bin"',
      'LABEL "a.b"="plain"',
      'LABEL "q"="say \\"hi\\" to \\$USER \\\\ now"',
      'WORKDIR /root',
    ]);
  });
});

describe('progressError', () => {
  it('finds an error in the JSON progress lines of a 200 response', () => {
    expect(progressError('{"status":"Loading"}\n{"errorDetail":{"message":"bad tar"},"error":"bad tar"}\n')).toBe('bad tar');
    expect(progressError('{"status":"sha256:abc"}\r\n')).toBeUndefined();
    expect(progressError('not json')).toBeUndefined();
  });
});
