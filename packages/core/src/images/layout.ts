import type { ImageRecipe } from '../contracts/image.js';

/** The OCI/Docker image config of a one-layer image built from a recipe. */
export function imageConfig(
  recipe: ImageRecipe,
  fields: { arch: string; diffId: string; labels: Record<string, string>; createdBy: string },
): Record<string, unknown> {
  const env = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', ...recipe.env };
  const config: Record<string, unknown> = {
    Env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
    Labels: { ...recipe.labels, ...fields.labels },
    WorkingDir: recipe.workdir ?? '/',
    User: recipe.user ?? '',
  };
  if (recipe.entrypoint) config.Entrypoint = recipe.entrypoint;
  if (recipe.cmd) config.Cmd = recipe.cmd;
  // a fixed date: the same recipe gives the same image ID
  const created = '1970-01-01T00:00:00Z';
  return {
    architecture: fields.arch,
    os: 'linux',
    created,
    config,
    rootfs: { type: 'layers', diff_ids: [`sha256:${fields.diffId}`] },
    history: [{ created, created_by: fields.createdBy }],
  };
}

/** manifest.json of a docker-archive (`docker save` format) holding one image. */
export function archiveManifest(ref: string, configFile: string, layerFile: string): string {
  return JSON.stringify([{ Config: configFile, RepoTags: [ref], Layers: [layerFile] }]);
}

/** Files every image gets: users, name service switch, a writable /tmp, /run (and /var/run). */
export function baseFiles(): { path: string; content?: string; link?: string; mode: number; dir?: boolean }[] {
  return [
    { path: '/etc/passwd', mode: 0o644, content: 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' },
    { path: '/etc/group', mode: 0o644, content: 'root:x:0:\nnobody:x:65534:\nnonroot:x:65532:\n' },
    { path: '/etc/nsswitch.conf', mode: 0o644, content: 'hosts: files dns\n' },
    { path: '/tmp', mode: 0o1777, dir: true },
    { path: '/home/nonroot', mode: 0o755, dir: true },
    { path: '/run', mode: 0o755, dir: true },
    { path: '/var/run', mode: 0o777, link: '../run' },
  ];
}

/** Merged /usr, as Debian bookworm lays it out: packages' /bin, /lib, ... land under /usr. */
export const MERGED_USR_LINKS: readonly [string, string][] = [
  ['bin', 'usr/bin'],
  ['sbin', 'usr/sbin'],
  ['lib', 'usr/lib'],
  ['lib64', 'usr/lib64'],
];

/** Debian package files never wanted in a runtime image. */
export const DEBIAN_PRUNE = ['usr/share/doc', 'usr/share/man', 'usr/share/info', 'usr/share/locale', 'usr/share/lintian', 'usr/share/bug'];

/** Packages that are package-management plumbing, never needed at run time. */
export const DEBIAN_SKIP = new Set(['dpkg', 'debconf', 'perl-base', 'init-system-helpers', 'debianutils', 'adduser', 'tar', 'base-files', 'base-passwd', 'usrmerge', 'libdebconfclient0', 'sensible-utils', 'lsb-base', 'sysvinit-utils', 'dash', 'bash', 'coreutils', 'util-linux', 'mount', 'login', 'passwd',
  // debconf's C frontend (an alternative for debconf-2.0) and its UI libraries; gawk and
  // original-awk beside mawk (apt-cache lists every provider of a virtual package)
  'cdebconf', 'libdebian-installer4', 'libnewt0.52', 'libslang2', 'libtextwrap1', 'install-info', 'gawk', 'original-awk', 'libsigsegv2', 'libmpfr6']);

/** `apt-cache depends --recurse` output -> real package names (virtual `<pkg>` and other architectures dropped). */
export function parseDependsClosure(output: string, arch: string): string[] {
  const names = new Set<string>();
  for (const line of output.split('\n')) {
    if (!line || /^\s/.test(line)) continue;
    const name = line.trim();
    if (name.startsWith('<')) continue;
    const [pkg, pkgArch] = name.split(':');
    if (pkgArch && pkgArch !== arch && pkgArch !== 'all') continue;
    names.add(pkg!);
  }
  return [...names].sort();
}
