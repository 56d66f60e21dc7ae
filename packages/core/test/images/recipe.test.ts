import { describe, expect, it } from 'vitest';
import {
  archiveManifest,
  canonicalJson,
  dropBlankImports,
  goBinaryHash,
  goBinaryProblems,
  goBuildArgs,
  goEnv,
  sourceTreeKey,
  imageConfig,
  parseDependsClosure,
  recipeHash,
  recipeProblems,
  type ImageRecipe,
} from '../../src/index.js';

const toolchain = { go: 'go1.26.8', arch: 'amd64' };
const recipe: ImageRecipe = {
  go: [{ module: 'example.com/tool', version: 'v1.2.3', binary: 'tool', ldflags: ['-X main.version=v1.2.3'] }],
  debianPackages: ['iptables'],
  entrypoint: ['/usr/local/bin/tool'],
  env: { B: '2', A: '1' },
};

describe('recipe hashing', () => {
  it('is stable under key order and undefined fields', () => {
    const reordered = { entrypoint: ['/usr/local/bin/tool'], env: { A: '1', B: '2' }, debianPackages: ['iptables'], go: recipe.go, user: undefined };
    expect(recipeHash('x/y:1', reordered, toolchain)).toBe(recipeHash('x/y:1', recipe, toolchain));
    expect(canonicalJson({ b: 1, a: { d: 2, c: undefined } })).toBe('{"a":{"d":2},"b":1}');
  });

  it('counts a copied file by its checksum, not by where this checkout keeps it', () => {
    const copied = (source: string, sha256: string) => ({ ...recipe, files: [{ path: '/usr/local/bin/node', source, sha256, mode: 0o755 }] });
    const here = recipeHash('x/y:1', copied('/work/a/node_modules/node/bin/node', 'abc'), toolchain);
    expect(recipeHash('x/y:1', copied('/home/ci/clone/node_modules/node/bin/node', 'abc'), toolchain)).toBe(here);
    expect(recipeHash('x/y:1', copied('/work/a/node_modules/node/bin/node', 'abd'), toolchain)).not.toBe(here);
  });

  it('changes with the image name, any recipe field, the Go version and the architecture', () => {
    const base = recipeHash('x/y:1', recipe, toolchain);
    const variants = [
      recipeHash('x/y:2', recipe, toolchain),
      recipeHash('x/y:1', { ...recipe, user: '65532' }, toolchain),
      recipeHash('x/y:1', { ...recipe, debianPackages: ['iptables', 'conntrack'] }, toolchain),
      recipeHash('x/y:1', { ...recipe, go: [{ ...recipe.go![0]!, version: 'v1.2.4' }] }, toolchain),
      recipeHash('x/y:1', recipe, { ...toolchain, go: 'go1.27.0' }),
      recipeHash('x/y:1', recipe, { ...toolchain, arch: 'arm64' }),
    ];
    for (const v of variants) expect(v).not.toBe(base);
    expect(new Set(variants).size).toBe(variants.length);
  });

  it('keys Go binaries by their build inputs, not where the image puts them', () => {
    const bin = recipe.go![0]!;
    expect(goBinaryHash({ ...bin, dir: '/opt/bin' }, toolchain)).toBe(goBinaryHash(bin, toolchain));
    expect(goBinaryHash({ ...bin, tags: ['netgo'] }, toolchain)).not.toBe(goBinaryHash(bin, toolchain));
  });
});

describe('recipe validation', () => {
  it('accepts a full recipe', () => {
    expect(recipeProblems(recipe)).toEqual([]);
    expect(recipeProblems({ files: [{ path: '/a', content: 'x', mode: 0o755 }, { path: '/b', link: 'a' }], shell: true })).toEqual([]);
  });

  it('names the field of each problem', () => {
    expect(recipeProblems({ go: [{ module: 'example.com/x', version: 'latest', binary: 'x' }] })).toEqual([
      expect.stringMatching(/^go\.0\.version: .*v1\.2\.3/),
    ]);
    expect(recipeProblems({ debianPackages: ['Bad Name'] })[0]).toMatch(/^debianPackages\.0:/);
    expect(recipeProblems({ files: [{ path: 'relative', content: '' }] })[0]).toMatch(/^files\.0\.path: .*absolute/);
    expect(recipeProblems({ files: [{ path: '/a' }] })[0]).toMatch(/exactly one of content, link or source/);
    expect(recipeProblems({ files: [{ path: '/a', source: '/usr/bin/node' }] })[0]).toMatch(/a source file needs its sha256/);
    expect(recipeProblems({ entrypont: ['/x'] })[0]).toMatch(/entrypont/);
    const bin = { module: 'example.com/x', version: 'v1.0.0', binary: 'x' };
    expect(recipeProblems({ go: [{ ...bin, replace: { 'example.com/x/api': 'example.com/x/api v0.0.0-20251021213802-b1f3c43f8437', 'example.com/y': 'stub' }, sums: ['example.com/x/api v0.0.0-20251021213802-b1f3c43f8437 h1:abc+/=', 'example.com/x/api v0.0.0-20251021213802-b1f3c43f8437/go.mod h1:def='] }] })).toEqual([]);
    expect(recipeProblems({ go: [{ ...bin, replace: { 'example.com/y': './local' } }] })[0]).toMatch(/^go\.0\.replace\.example\.com\/y: must be "stub"/);
    expect(recipeProblems({ go: [{ ...bin, sums: ['not a sum'] }] })[0]).toMatch(/^go\.0\.sums\.0: must be a go\.sum line/);
  });
});

describe('image layout', () => {
  it('writes a one-layer image config with the recipe\'s entrypoint, env, user and labels', () => {
    const config = imageConfig(
      { ...recipe, user: '65532', labels: { a: 'b' } },
      { arch: 'amd64', diffId: 'ab'.repeat(32), labels: { 'dev.local-cluster.managed': 'true' }, createdBy: 'test' },
    ) as { architecture: string; config: Record<string, unknown>; rootfs: { diff_ids: string[] }; created: string };
    expect(config.architecture).toBe('amd64');
    expect(config.config.Entrypoint).toEqual(['/usr/local/bin/tool']);
    expect(config.config.User).toBe('65532');
    expect(config.config.Env).toEqual(expect.arrayContaining(['A=1', 'B=2', expect.stringMatching(/^PATH=.*\/usr\/bin/)]));
    expect(config.config.Labels).toEqual({ a: 'b', 'dev.local-cluster.managed': 'true' });
    expect(config.rootfs.diff_ids).toEqual([`sha256:${'ab'.repeat(32)}`]);
    expect(config.created).toBe('1970-01-01T00:00:00Z');
    expect(JSON.parse(archiveManifest('x/y:1', 'c.json', 'layer.tar'))).toEqual([{ Config: 'c.json', RepoTags: ['x/y:1'], Layers: ['layer.tar'] }]);
  });
});

describe('Go builds', () => {
  it('drops only the named blank imports and reports which it found', () => {
    const src = 'package main\n\nimport (\n\t"fmt"\n\t_ "example.com/a/udp"\n\t_ "example.com/a/vxlan" // keep\n)\n';
    const { text, dropped } = dropBlankImports(src, ['example.com/a/udp', 'example.com/a/missing']);
    expect(dropped).toEqual(['example.com/a/udp']);
    expect(text).not.toContain('udp');
    expect(text).toContain('_ "example.com/a/vxlan"');
  });

  it('builds static with the machine\'s Go settings kept and the recipe\'s env last', () => {
    const env = goEnv({ module: 'm', version: 'v1.0.0', binary: 'b', env: { GONOSUMDB: 'example.com' } }, 'amd64', { GOPROXY: 'https://proxy.invalid', GOFLAGS: '-x' });
    expect(env).toMatchObject({ CGO_ENABLED: '0', GOOS: 'linux', GOARCH: 'amd64', GOPROXY: 'https://proxy.invalid', GONOSUMDB: 'example.com', GOWORK: 'off' });
    expect(env.GOFLAGS).toBe('-x -mod=mod -buildvcs=false');
  });

  it('turns cgo on only for a cgo binary, and lets its env add C flags', () => {
    expect(goEnv({ module: 'm', version: 'v1.0.0', binary: 'b', cgo: true, env: { CGO_CFLAGS: '-I/x' } }, 'amd64', {})).toMatchObject({ CGO_ENABLED: '1', CGO_CFLAGS: '-I/x' });
    expect(goEnv({ module: 'm', version: 'v1.0.0', binary: 'b', env: { GOTOOLCHAIN: 'go1.27.0' } }, 'amd64', {})).toMatchObject({ CGO_ENABLED: '0', GOTOOLCHAIN: 'go1.27.0' });
  });

  it('links static by default; a recipe can set the build mode and the external linker flags', () => {
    const plain = { module: 'm', version: 'v1.0.0', binary: 'b', tags: ['netgo', 'osusergo'], ldflags: ['-X main.v=1'] };
    expect(goBuildArgs(plain)).toEqual(['build', '-trimpath', '-tags', 'netgo,osusergo', '-ldflags', '-s -w -extldflags -static -X main.v=1']);
    expect(goBuildArgs({ ...plain, test: true }).slice(0, 4)).toEqual(['test', '-c', '-vet=off', '-trimpath']);
    const pie = goBuildArgs({ ...plain, cgo: true, buildmode: 'pie', extldflags: '-static-pie', ldflags: ['-linkmode external'] });
    expect(pie).toEqual(['build', '-trimpath', '-buildmode=pie', '-tags', 'netgo,osusergo', '-ldflags', '-s -w -extldflags -static-pie -linkmode external']);
    expect(goBuildArgs({ ...plain, extldflags: '-static -lm' }).at(-1)).toBe("-s -w -extldflags '-static -lm' -X main.v=1");
  });

  it('checks the cgo, buildmode and extldflags fields', () => {
    expect(goBinaryProblems({ module: 'm', version: 'v1.0.0', binary: 'b', cgo: true, buildmode: 'pie', extldflags: '-static-pie' })).toEqual([]);
    expect(goBinaryProblems({ module: 'm', version: 'v1.0.0', binary: 'b', buildmode: 'c-shared' })[0]).toMatch(/^buildmode:/);
    expect(goBinaryProblems({ module: 'm', version: 'v1.0.0', binary: 'b', extldflags: '' })[0]).toMatch(/^extldflags:/);
  });

  it('shares one prepared source tree between binaries of the same module and edits', () => {
    const k8s = (pkg: string, extra = {}) => ({ module: 'k8s.io/kubernetes', version: 'v1.34.4', package: pkg, binary: pkg.split('/').pop()!, inTreeReplacesAt: 'v0.34.4', ...extra });
    expect(sourceTreeKey(k8s('cmd/kubelet'))).toBe(sourceTreeKey(k8s('cmd/kubeadm', { tags: ['x'], ldflags: ['-X a.b=c'] })));
    expect(sourceTreeKey(k8s('cmd/kubelet'))).not.toBe(sourceTreeKey(k8s('cmd/kubelet', { env: { GOTOOLCHAIN: 'go1.27.0' } })));
    expect(sourceTreeKey(k8s('cmd/kubelet'))).not.toBe(sourceTreeKey(k8s('cmd/kubelet', { version: 'v1.34.3' })));
    // dropped imports edit the main package: only that package shares the tree
    expect(sourceTreeKey(k8s('cmd/a', { dropImports: ['x/y'] }))).not.toBe(sourceTreeKey(k8s('cmd/b', { dropImports: ['x/y'] })));
  });

  it('keys a cgo binary by the C compiler too, and only a cgo binary', () => {
    const bin = { module: 'm', version: 'v1.0.0', binary: 'b' };
    const gcc12 = { ...toolchain, cc: 'gcc (Debian 12.2.0-14) 12.2.0' };
    const gcc13 = { ...toolchain, cc: 'gcc (Debian 13.3.0-1) 13.3.0' };
    expect(goBinaryHash(bin, gcc12)).toBe(goBinaryHash(bin, toolchain));
    expect(goBinaryHash(bin, gcc12)).toBe(goBinaryHash(bin, gcc13));
    expect(goBinaryHash({ ...bin, cgo: true }, gcc12)).not.toBe(goBinaryHash({ ...bin, cgo: true }, gcc13));
  });
});

describe('Debian closure', () => {
  it('keeps real packages of this architecture', () => {
    const out = 'iptables\n  Depends: libc6\n  Depends: <libxtables12>\nlibc6\n  Depends: libgcc-s1\n<virtual-thing>\nlibgcc-s1:amd64\nlibfoo:i386\n';
    expect(parseDependsClosure(out, 'amd64')).toEqual(['iptables', 'libc6', 'libgcc-s1']);
  });
});
