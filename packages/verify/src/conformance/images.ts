import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type GoBinary, goModuleDir, type ImageFile, type ImageRecipe, type ImageRequirement, kubernetesProgram, kubernetesRelease, type NeededImage } from '@local-cluster/core';
import { parseImageManifest, type SuiteImage } from './manifest.js';

/**
 * Offline stand-ins for the images Kubernetes' conformance tests run, built by
 * the image factory under the names the suite asks for. Each behaves as the
 * tests need (read from the tests and test/images/<name>/ of the release):
 * same entrypoints, ports, paths and tools, built from Go modules of the
 * release itself and Debian packages, never pulled.
 */

const NEEDED_BY = 'the conformance tests (local-cluster e2e)';

/** Users and groups as the agnhost image defines them (tests run as uid 1000, check group 50000). */
const AGNHOST_USERS: ImageFile[] = [
  {
    path: '/etc/passwd',
    content:
      'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\nuser-defined-in-image:x:1000:1000::/home/user-defined-in-image:/bin/sh\n',
  },
  { path: '/etc/group', content: 'root:x:0:\nnobody:x:65534:\nuser-defined-in-image:x:1000:\ngroup-defined-in-image:x:50000:user-defined-in-image\n' },
];

/** agnhost (one Go program, many test servers and clients) with the tools its tests run inside it: dig, curl, nc, ip. */
function agnhost(release: string, image: SuiteImage, shipped: ImageFile[], extra: ImageFile[] = [], cmd = ['pause']): ImageRecipe {
  return {
    go: [kubernetesProgram(release, 'test/images/agnhost', 'agnhost', { dir: '/', ldflags: [`-X main.Version=${image.version}`] })],
    debianPackages: ['bind9-dnsutils', 'curl', 'netcat-openbsd', 'iproute2', 'bash', 'libc-bin'],
    shell: true,
    files: [{ path: '/agnhost-2', link: 'agnhost' }, { path: '/usr/bin/nc', link: 'nc.openbsd' }, { path: '/uploads/.keep', content: '' }, ...AGNHOST_USERS, ...shipped, ...extra],
    entrypoint: ['/agnhost'],
    cmd,
  };
}

/** A busybox web server serving `root` on port 80 (what the httpd and nginx tests use: a page, readiness on it). */
function webServer(root: string, index: string, command: string): ImageRecipe {
  return {
    shell: true,
    files: [
      { path: `${root}/index.html`, content: index },
      { path: command, mode: 0o755, content: `#!/bin/sh\n# stand-in: busybox httpd serving ${root} on port 80, in the foreground\nexec httpd -f -v -p 80 -h ${root}\n` },
    ],
    cmd: [command.slice(command.lastIndexOf('/') + 1)],
  };
}

/**
 * /bin/sh of the busybox stand-in. Debian's busybox is 1.35, whose ash drops environment
 * variables whose names are not shell identifiers before running a command; busybox 1.37 (the
 * upstream image) passes them on, and the envFrom tests (keys like `data-1`) read them with
 * `sh -c env`. So: busybox's ash, as upstream (same messages, e.g. "/bin/sh: can't create
 * /file: Read-only file system"), unless such a variable is present, then bash in POSIX mode,
 * which passes every variable on.
 */
const BUSYBOX_SH = `#!/usr/bin/bash
while IFS= read -r -d '' entry; do
  name=\${entry%%=*}
  if [[ ! \$name =~ ^[A-Za-z_][A-Za-z0-9_]*$ ]]; then exec -a "\$0" /usr/bin/bash --posix "\$@"; fi
done </proc/self/environ
exec -a "\$0" /usr/bin/busybox "\$@"
`;

/**
 * `nmeter` of the busybox stand-in: Debian's busybox builds have no nmeter applet, and the
 * node e2e container-lifecycle tests stamp their log lines with
 * `date -u +%FT$(nmeter -d0 '%3t' | head -n1)Z`. Only the time field (`%[N]t`: HH:MM:SS with
 * N decimals) is implemented, printed every -d milliseconds (0: at once, again and again)
 * until the reader goes away.
 */
const NMETER = `#!/usr/bin/bash
# stand-in for busybox nmeter (Debian's busybox has none): only the %[N]t (time) field
delay=1000
while getopts d: opt; do [[ $opt == d ]] && delay=$OPTARG; done
shift $((OPTIND - 1))
format=\${1:-%t}
while :; do
  t=$EPOCHREALTIME
  out=$format
  while [[ $out =~ %([0-9]?)t ]]; do
    n=\${BASH_REMATCH[1]:-0}
    stamp=$(printf '%(%H:%M:%S)T' "\${t%.*}")
    (( n > 0 )) && stamp+=".\${t#*.}" && stamp=\${stamp:0:$((9 + n))}
    out=\${out/"\${BASH_REMATCH[0]}"/$stamp}
  done
  printf '%s\\n' "$out" || exit 0
  (( delay > 0 )) && sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
done
`;

/** A recipe for each suite image name this module knows how to build. */
function recipeFor(image: SuiteImage, release: string, shipped: ImageFile[]): ImageRecipe | undefined {
  switch (image.name) {
    case 'agnhost':
      return agnhost(release, image, shipped);
    case 'kitten':
    case 'nautilus':
      // the Update Demo tests read data.json through the API server's pod proxy
      return agnhost(release, image, shipped, [{ path: '/data.json', content: `{\n  "image": "${image.name}.jpg"\n}\n` }], ['test-webserver']);
    case 'busybox':
      return {
        debianPackages: ['bash'],
        shell: true,
        files: [
          { path: '/usr/bin/sh', mode: 0o755, content: BUSYBOX_SH },
          { path: '/usr/bin/nmeter', mode: 0o755, content: NMETER },
        ],
        cmd: ['sh'],
      };
    case 'httpd':
      return { ...webServer('/usr/local/apache2/htdocs', '<html><body><h1>It works!</h1></body></html>\n', '/usr/local/bin/httpd-foreground'), workdir: '/usr/local/apache2' };
    case 'nginx':
      return webServer('/usr/share/nginx/html', '<!DOCTYPE html>\n<html><head><title>Welcome to nginx!</title></head><body><h1>Welcome to nginx!</h1></body></html>\n', '/usr/sbin/nginx');
    case 'nonroot':
      // upstream: debian-base with USER 1234
      return { shell: true, user: '1234', cmd: ['sh'] };
    case 'ipc-utils':
      // upstream: alpine with util-linux (ipcmk, ipcs, ipcrm)
      return { debianPackages: ['util-linux'], shell: true, cmd: ['sh'] };
    case 'jessie-dnsutils':
      return { debianPackages: ['bind9-dnsutils', 'libc-bin'], shell: true, cmd: ['sh'] };
    case 'nonewprivs':
      // prints "Effective uid: N"; setuid root, so only no_new_privs keeps N the caller's
      return { go: [kubernetesProgram(release, 'test/images/nonewprivs', 'nnp', { mode: 0o4755 })], cmd: ['nnp'] };
    case 'sample-apiserver': {
      const { staging } = kubernetesRelease(release);
      const server: GoBinary = { module: 'k8s.io/sample-apiserver', version: staging, binary: 'sample-apiserver', dir: '/' };
      return { go: [server], entrypoint: ['/sample-apiserver'] };
    }
    case 'etcd': {
      const version = `v${image.version.replace(/-\d+$/, '')}`;
      const etcd = (pkg: string, binary: string): GoBinary => ({ module: `go.etcd.io/etcd/${pkg}/v3`, version, binary, inTreeReplacesAt: version });
      return { go: [etcd('server', 'etcd'), etcd('etcdctl', 'etcdctl')], shell: true };
    }
    default:
      return undefined;
  }
}

/**
 * The manifest's image IDs the [Conformance] tests use. Others are left alone on
 * purpose: e.g. AgnhostPrivate and InvalidRegistryImage exist to test failing
 * pulls, and Pause is in every node already (kubeadm's, preloaded).
 */
export const CONFORMANCE_IDS: ReadonlySet<string> = new Set(['Agnhost', 'BusyBox', 'Httpd', 'HttpdNew', 'Nginx', 'NginxNew', 'JessieDnsutils', 'Kitten', 'Nautilus', 'Nonewprivs', 'APIServer', 'Etcd']);

/**
 * The manifest's image IDs the node e2e suite's tests run that a recipe can build: the
 * e2e/common tests' pre-pulled images (test/e2e/common/util.go PrePulledImages) and the
 * node suite's own (test/e2e_node/image_list.go) but for the NFS server, the node
 * performance workloads (NPB, TensorFlow) and Perl, which have none.
 */
export const NODE_E2E_IDS: ReadonlySet<string> = new Set(['Agnhost', 'BusyBox', 'Httpd', 'HttpdNew', 'Nginx', 'NginxNew', 'Nonewprivs', 'NonRoot', 'IpcUtils']);

/**
 * The images the conformance tests use, with recipes. `unbuildable` are the
 * suite's other images (CSI, volume servers, private-registry tests): tests
 * that need them are not conformance tests and fail if selected.
 */
export function conformanceImages(
  suite: readonly SuiteImage[],
  release: string,
  /** Files the release ships for the agnhost image (porter's /localhost.crt and /localhost.key), read from its module. */
  shipped: ImageFile[] = [],
  /** Which of the manifest's images to build (default: the conformance tests' ones). */
  ids: ReadonlySet<string> = CONFORMANCE_IDS,
  neededBy = NEEDED_BY,
): { needed: NeededImage[]; unbuildable: SuiteImage[] } {
  const needed: NeededImage[] = [];
  const unbuildable: SuiteImage[] = [];
  for (const image of suite) {
    const recipe = ids.has(image.id) ? recipeFor(image, release, shipped) : undefined;
    if (!recipe) {
      unbuildable.push(image);
      continue;
    }
    const requirement: ImageRequirement = { ref: image.ref, recipe, loadIntoNodes: true };
    needed.push({ image: requirement, neededBy });
  }
  return { needed, unbuildable };
}

/**
 * The conformance images of a Kubernetes release, read from its module (the
 * suite's image table and the files agnhost ships): what `e2e` builds, and
 * where `netcheck` takes agnhost from (one recipe, one cached image).
 */
export async function releaseTestImages(
  version: string,
  ids: ReadonlySet<string> = CONFORMANCE_IDS,
  neededBy = NEEDED_BY,
): Promise<{ needed: NeededImage[]; unbuildable: SuiteImage[] }> {
  const source = await goModuleDir('k8s.io/kubernetes', version);
  const shipped = await Promise.all(
    ['localhost.crt', 'localhost.key'].map(async (file) => ({ path: `/${file}`, content: await readFile(join(source, 'test/images/agnhost/porter', file), 'utf8') })),
  );
  return conformanceImages(parseImageManifest(await readFile(join(source, 'test/utils/image/manifest.go'), 'utf8')), version, shipped, ids, neededBy);
}
