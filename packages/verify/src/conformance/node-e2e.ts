/**
 * `e2e-node`: Kubernetes' node e2e suite (`e2e_node.test`) in kubelet mode, against one
 * kubelet in a fresh container of the cluster's node image.
 *
 * Run without --remote the suite starts its own services (etcd, kube-apiserver and the
 * namespace controller, in its own process) and a kubelet from --k8s-bin-dir (the node
 * image's, started with systemd-run), against the container runtime of the machine it runs
 * on: here the node container's containerd. So the suite runs inside that container, which
 * the driver creates like a node (the same privileges or the unprivileged capability set,
 * cgroups, tmpfs, /var on a volume), labelled as the cluster's (role node-e2e, so `clean`
 * removes it) and removed after the run, also on Ctrl-C.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { nodeE2eBinaries } from './binaries.js';
import { NODE_E2E_IDS, releaseTestImages } from './images.js';
import { defaultParallelism } from './run.js';
import { ensureSuiteBinaries, newReportDir, selectTests, specProgress, suiteOutcome, testFilters, type SpecEvent, type SuiteReport, type TestFilterOptions, type TestFilters } from './suite.js';
import { AbortedError, booted, containerName, controlPlaneOf, type Driver, ensureImage, extractTar, imageCacheDir, isServicesNode, kubeletFailsCgroupV1, LocalClusterError, localClusterHome, type Logger, NODE_CONTRACT, type NodeHandle, type NodeSpec, ownerLabels, runningNodes, syncImagesIntoNodes, upCommandFor, writeNodeFile } from '@local-cluster/core';

/**
 * The default selection: the [NodeConformance] tests without [Serial], [Flaky] and [Slow],
 * what SIG Node's node conformance job runs (focus `\[NodeConformance\]`, the default skip
 * `\[Flaky\]|\[Slow\]|\[Serial\]` of hack/make-rules/test-e2e-node.sh), as a label filter.
 */
export const NODE_E2E_LABEL_FILTER = 'NodeConformance && !Serial && !Flaky && !Slow';

/** Where the suite runs inside the container. */
export const NODE_E2E_DIR = '/e2e-node';
const REPORT_IN_NODE = `${NODE_E2E_DIR}/report`;
const LOG_IN_NODE = `${NODE_E2E_DIR}/ginkgo.log`;
const EXIT_IN_NODE = `${NODE_E2E_DIR}/exit-code`;
/** The hostname of the container, so the node name the kubelet registers. */
export const NODE_E2E_HOSTNAME = 'node-e2e';
/** The pod range of the suite's kubelet (its default podCIDR, test/e2e_node/jenkins/default-kubelet-config.yaml). */
export const NODE_E2E_POD_CIDR = '10.100.0.0/24';

/** A test the default run leaves out, and why; with `unless`, only on machines where that command fails in the container. */
export interface LeftOutRule {
  /** A regular expression on full test names. */
  pattern: string;
  why: string;
  /** A probe run in the container before the tests: the rule applies only when it fails. */
  unless?: string[];
}

/**
 * Tests the default run leaves out, each with the reason: what this machine cannot give
 * them. They are listed in the report as left out, never counted as passed or failed.
 */
export const NODE_E2E_SKIPS: readonly LeftOutRule[] = [
  {
    pattern: 'Container Runtime blackbox test when running a container with a new image should be able to pull image',
    why: 'pulls agnhost with imagePullPolicy Always and expects the pull to succeed: no registry is reachable here',
  },
  {
    pattern: 'Containers Lifecycle when A pod is running only regular containers when the regular container has its image updated should successfully restart',
    why: 'its containers pull agnhost and busybox with imagePullPolicy Always and expect the pulls to succeed: no registry is reachable here',
  },
  {
    pattern: 'PrivilegedPod \\[NodeConformance\\] should enable privileged commands',
    why: "creates a dummy network interface (ip link add dummy1 type dummy), and this machine's kernel has none (CONFIG_DUMMY)",
    unless: ['sh', '-c', 'ip link add lc-probe0 type dummy && ip link del lc-probe0'],
  },
  {
    pattern: 'ContainerMetrics \\[LinuxOnly\\] \\[NodeConformance\\] when querying /metrics/cadvisor should report container metrics',
    why: 'expects block-IO counters (container_fs_reads_total, container_blkio_device_usage_total), and this kernel keeps none (blkio.throttle.io_service_bytes stays at 0 for every cgroup, the container itself included)',
    // cgroup v2 (no such file) or a v1 blkio that counted the container's own IO
    unless: ['sh', '-c', 'f=/sys/fs/cgroup/blkio/blkio.throttle.io_service_bytes; [ ! -e "$f" ] || ! grep -qx "Total 0" "$f"'],
  },
  {
    pattern: 'Summary API \\[NodeConformance\\] when querying /stats/summary should report resource usage through the stats api',
    why: "expects the node's network interface to have received at least 1 MB (a node that pulled its images has; this container got them without the network) and the runtime's CPU usage from its cgroup (where cpu and cpuacct are separate cgroup v1 hierarchies, as here, systemd puts containerd in cpu only)",
    unless: [
      'sh',
      '-c',
      'dev=$(ip route show default | sed -n "s/.* dev \\([^ ]*\\).*/\\1/p" | head -n1); [ "$(cat /sys/class/net/${dev:-eth0}/statistics/rx_bytes)" -ge 1000000 ] && { [ ! -d /sys/fs/cgroup/cpuacct ] || [ -d /sys/fs/cgroup/cpuacct/system.slice/containerd.service ]; }',
    ],
  },
];

/** The selected tests the rules leave out (rules with a probe only when `failedProbes` holds them). */
export function leftOutTests(names: readonly string[], rules: readonly LeftOutRule[], failedProbes: ReadonlySet<LeftOutRule> = new Set()): { name: string; why: string }[] {
  const applying = rules.filter((r) => !r.unless || failedProbes.has(r));
  return names.flatMap((name) => {
    const rule = applying.find((r) => new RegExp(r.pattern).test(name));
    return rule ? [{ name, why: rule.why }] : [];
  });
}

/**
 * containerd's registry configuration (hosts.toml) for each registry the suite names: pulls
 * go to a closed port on the container itself, so they fail at once and nothing leaves the
 * machine (not even a DNS lookup). The tests that expect a pull to fail (an invalid registry,
 * a private one without a secret, a bad init-container image) run and pass for the right
 * reason. Debian's containerd 1.6 has no catch-all (`_default` is 1.7's), so every registry
 * of the suite's image table gets one, and the common public ones.
 */
export const NODE_E2E_REGISTRY_HOSTS = `# local-cluster e2e-node: no registry is reachable; pulls fail here at once, on this container
server = "http://127.0.0.1:9"

# containerd 1.6 ignores a lone server line: the mirror is what redirects the pulls
[host."http://127.0.0.1:9"]
  capabilities = ["pull", "resolve"]
`;

/** The registry hosts of image references (`registry.k8s.io/pause:3.10.1` -> registry.k8s.io), with the common public registries and containerd's `_default`. */
export function registryHostsOf(refs: readonly string[]): string[] {
  const hosts = new Set(['_default', 'docker.io', 'registry-1.docker.io', 'gcr.io', 'registry.k8s.io', 'k8s.gcr.io', 'quay.io', 'ghcr.io']);
  for (const ref of refs) {
    const first = ref.split('/')[0]!;
    if (ref.includes('/') && (first.includes('.') || first.includes(':') || first === 'localhost')) hosts.add(first);
  }
  return [...hosts].sort();
}

export interface NodeE2eOptions extends TestFilterOptions {
  driver: Driver;
  cluster: string;
  home?: string;
  /** Ginkgo label filter (default NODE_E2E_LABEL_FILTER). */
  labelFilter?: string;
  /** Parallel test processes. Default: fitted to the machine. */
  parallelism?: number;
  /** Also write the JUnit report into this directory. */
  junitDir?: string;
  /** Whole-run timeout in minutes (default 120). */
  timeoutMinutes?: number;
  /** Only list the tests that would run. */
  list?: boolean;
  /** Keep the container after the run (for a look inside); `clean` removes it. */
  keep?: boolean;
  /** Run the tests NODE_E2E_SKIPS leaves out too. */
  noDefaultSkips?: boolean;
  logger: Logger;
  signal: AbortSignal;
  /** Called as each test finishes. */
  onSpec?: (event: SpecEvent) => void;
}

export interface NodeE2eReport extends SuiteReport {
  /** The image of the container the suite ran in. */
  nodeImage: string;
  /** Tests the filters chose that this run left out (NODE_E2E_SKIPS), each with the reason; `selected` counts the rest. */
  leftOut: { name: string; why: string }[];
  /** Images of the suite no recipe builds: tests that use them fail (none of the default selection should). */
  unbuildableImages: string[];
  /** The container, when kept. */
  container?: string;
}

/**
 * The kubelet's base configuration (--kubelet-config-file): the suite's own defaults
 * (test/e2e_node/jenkins/default-kubelet-config.yaml) with the node image's needs: systemd
 * cgroups (containerd is configured so), swap allowed, no disk-pressure evictions (the
 * container shares the host's disk), and, from 1.35, cgroup v1 allowed.
 */
export function nodeE2eKubeletConfig(version: string): string {
  return [
    'apiVersion: kubelet.config.k8s.io/v1beta1',
    'kind: KubeletConfiguration',
    'cgroupDriver: systemd',
    'cgroupRoot: /',
    `podCIDR: "${NODE_E2E_POD_CIDR}"`,
    'volumeStatsAggPeriod: 10s',
    'fileCheckFrequency: 10s',
    'evictionPressureTransitionPeriod: 30s',
    'evictionHard:',
    '  memory.available: 250Mi',
    '  nodefs.available: "0%"',
    '  nodefs.inodesFree: "0%"',
    '  imagefs.available: "0%"',
    'imageGCHighThresholdPercent: 100',
    'serializeImagePulls: false',
    'failSwapOn: false',
    ...(kubeletFailsCgroupV1(version) ? ['failCgroupV1: false'] : []),
    '',
  ].join('\n');
}

/** A bridge network for the pods (no CNI plugin is installed in this container): the kubelet's podCIDR on cni0, masqueraded out. */
export function nodeE2eCniConfig(): string {
  return `${JSON.stringify(
    {
      cniVersion: '0.4.0',
      name: 'node-e2e',
      plugins: [
        {
          type: 'bridge',
          bridge: 'cni0',
          isGateway: true,
          ipMasq: true,
          hairpinMode: true,
          ipam: { type: 'host-local', ranges: [[{ subnet: NODE_E2E_POD_CIDR }]], routes: [{ dst: '0.0.0.0/0' }] },
        },
        { type: 'portmap', capabilities: { portMappings: true } },
      ],
    },
    null,
    2,
  )}\n`;
}

/** The container the suite runs in: a node of the cluster's node image, on the engine's default network; `id` tells runs apart. */
export function nodeE2eSpec(cluster: string, image: string, id: string): NodeSpec {
  return {
    name: containerName(cluster, `${NODE_E2E_HOSTNAME}-${id}`),
    hostname: NODE_E2E_HOSTNAME,
    image,
    labels: ownerLabels(cluster, 'node-e2e'),
    // a worker (the entrypoint records the role); its anonymous /var is filled from the image: containerd's seeded store
    env: { [NODE_CONTRACT.nodeRoleEnv]: 'worker' },
    privileged: true,
  };
}

/** The suite's own flags (after ginkgo's `--`): kubelet mode against the container's containerd. */
export function nodeE2eSuiteArgs(): string[] {
  return [
    // the node image's kubelet
    '--k8s-bin-dir=/usr/bin',
    '--container-runtime-endpoint=unix:///run/containerd/containerd.sock',
    '--container-runtime-process-name=/usr/bin/containerd',
    '--container-runtime-pid-file=',
    // nothing can be pulled: the images are loaded before the run, tests use them as they are
    '--prepull-images=false',
    `--kubelet-config-file=${NODE_E2E_DIR}/kubelet-config.yaml`,
    '--kubelet-flags=--runtime-cgroups=/system.slice/containerd.service',
    `--report-dir=${REPORT_IN_NODE}`,
  ];
}

/** ginkgo's command line in the container. */
export function nodeE2eGinkgoArgs(filters: TestFilters, parallelism: number, timeoutMinutes: number): string[] {
  return [
    'run',
    '--no-color',
    '-v',
    `--procs=${parallelism}`,
    ...filters.flags,
    `--timeout=${timeoutMinutes}m`,
    `--output-dir=${REPORT_IN_NODE}`,
    '--json-report=report.json',
    '--junit-report=junit.xml',
    '--silence-skips',
    `${NODE_E2E_DIR}/e2e_node.test`,
    '--',
    ...nodeE2eSuiteArgs(),
  ];
}

/** Quotes a word for sh. */
function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Tar of host files (each under its base name), for copying into a container. */
function tarOf(paths: readonly string[]) {
  const args = ['-c', '--dereference', ...paths.flatMap((p) => ['-C', dirname(p), basename(p)])];
  const child = spawn('tar', args, { stdio: ['ignore', 'pipe', 'inherit'] });
  return child.stdout;
}

/** The Kubernetes version of the node image's kubelet (`Kubernetes v1.34.4`). */
async function kubeletVersion(node: NodeHandle, signal: AbortSignal): Promise<string> {
  const out = (await node.exec(['kubelet', '--version'], { signal })).stdout.trim();
  const m = /v\d+\.\d+\.\d+\S*/.exec(out);
  if (!m) throw new LocalClusterError(`Could not read the kubelet version on ${node.name}: "${out}".`);
  return m[0];
}

/**
 * Runs the node e2e suite of the cluster's Kubernetes version against a kubelet of its
 * node image. The cluster provides the version and the node image; its own nodes are
 * left alone (a second kubelet on a node would fight the first for its ports and pods).
 */
export async function runNodeE2e(options: NodeE2eOptions): Promise<NodeE2eReport> {
  const { driver, cluster, logger, signal } = options;
  const home = options.home ?? localClusterHome();
  const nodes = await runningNodes(driver, cluster, signal);
  const controlPlane = controlPlaneOf(nodes);
  if (isServicesNode(controlPlane.labels)) {
    throw new LocalClusterError(`Cluster "${cluster}" runs in services mode (an API server and controllers, no kubelet, no container runtime): the node e2e tests need a node image.`, {
      hint: `Bring up a cluster of nodes (without --mode services), e.g. \`${upCommandFor(cluster)} --num-nodes 1\`, then run \`local-cluster e2e-node\` on it.`,
    });
  }
  const nodeImage = controlPlane.image;
  if (!nodeImage) throw new LocalClusterError(`The driver does not say which image node ${controlPlane.name} runs: e2e-node needs it.`);
  const version = await kubeletVersion(controlPlane, signal);
  const timeoutMinutes = options.timeoutMinutes ?? 120;

  const cacheDir = imageCacheDir(home);
  const binaries = await ensureSuiteBinaries('e2e_node.test', version, nodeE2eBinaries, { cacheDir, logger, signal, neededBy: 'local-cluster e2e-node' });
  const suite = binaries['e2e_node.test']!;
  const ginkgo = binaries.ginkgo!;

  const filters = testFilters(options, options.labelFilter ?? NODE_E2E_LABEL_FILTER);
  const reportDir = await newReportDir(home, cluster, 'e2e-node');
  const log = join(reportDir, 'e2e-node.log');
  const selectedAll = await selectTests(suite, filters, [], reportDir, { signal, what: 'e2e-node run' });
  const what = [filters.focusGiven ? `matching "${filters.focusGiven}"` : '', `with labels "${filters.labelFilter}"`].filter(Boolean).join(' ');
  if (selectedAll.selected === 0) {
    throw new LocalClusterError(`No test of Kubernetes ${version}'s node e2e suite is ${what}${filters.skipGiven ? ` once "${filters.skipGiven}" is skipped` : ''}.`, {
      hint: 'The focus is a substring of full test names such as "[sig-node] Pods should get a host IP [NodeConformance] [Conformance]"; `local-cluster e2e-node --list` lists them.',
    });
  }
  const rules = options.noDefaultSkips ? [] : NODE_E2E_SKIPS;
  const names = selectedAll.specs.map((s) => s.name);
  let leftOut = leftOutTests(names, rules);
  let toRun = names.filter((n) => !leftOut.some((l) => l.name === n));
  const parallelism = options.parallelism ?? defaultParallelism();
  const base = () => ({
    cluster,
    kubernetesVersion: version,
    nodeImage,
    labelFilter: filters.labelFilter,
    ...(filters.focusGiven ? { focus: filters.focusGiven } : {}),
    ...(filters.skipGiven ? { skip: filters.skipGiven } : {}),
    parallelism,
    selected: toRun.length,
    leftOut,
    reportDir,
    log,
  });
  const nothingLeft = () =>
    new LocalClusterError(`Every test ${what} is one this machine cannot run: ${leftOut.map((l) => `"${l.name}" (${l.why})`).join('; ')}.`, {
      hint: 'Choose other tests, or pass --no-default-skips to run them anyway.',
    });
  if (options.list) return { ...base(), passed: 0, failed: 0, skipped: 0, durationMs: 0, failures: [], skips: [], specs: [], unbuildableImages: [], tests: [...toRun].sort() };
  if (toRun.length === 0) throw nothingLeft();

  // the images the tests run, built offline (before the container exists: a build can take minutes)
  const { needed, unbuildable } = await releaseTestImages(version, NODE_E2E_IDS, 'the node e2e tests (local-cluster e2e-node)');
  for (const image of needed) await ensureImage(image, { driver, cacheDir, logger, signal });

  // a fresh container of the node image (runs side by side have one each); stopped ones an
  // earlier, killed run left go first
  const spec = nodeE2eSpec(cluster, nodeImage, randomBytes(3).toString('hex'));
  const earlier = await driver.listNodes({ cluster, role: 'node-e2e' }, { signal });
  const stopped = (await Promise.all(earlier.map(async (n) => ((await n.state({ signal })) === 'running' ? [] : [n])))).flat();
  if (stopped.length) await driver.removeNodes(stopped, { signal });
  if (earlier.length > stopped.length) logger.info(`another e2e-node run of cluster "${cluster}" is going on (${earlier.filter((n) => !stopped.includes(n)).map((n) => n.name).join(', ')}): this one gets a container of its own`);
  logger.info(`starting ${spec.name} from ${nodeImage}`);
  const node = await driver.createNode(spec, { signal });
  let keep = false;
  try {
    await booted(node, { signal });
    // the suite starts its own kubelet (systemd-run): the image's kubeadm unit must not run
    await node.exec(['systemctl', 'disable', '--now', 'kubelet.service'], { signal });
    // the kubelet reports the runtime's usage from its cgroup (--runtime-cgroups): on cgroup v1
    // systemd puts a service in the cpu and memory hierarchies only with accounting on
    await node.exec(['systemctl', 'set-property', '--runtime', 'containerd.service', 'CPUAccounting=yes', 'MemoryAccounting=yes'], { signal });
    await writeNodeFile(node, `${NODE_CONTRACT.cniConfDir}/10-node-e2e.conflist`, nodeE2eCniConfig(), { signal });
    const hosts = registryHostsOf([...needed.map((n) => n.image.ref), ...unbuildable.map((i) => i.ref)]);
    await node.exec(['sh', '-c', 'content=$(cat); for h in "$@"; do mkdir -p "/etc/containerd/certs.d/$h" && printf \'%s\\n\' "$content" >"/etc/containerd/certs.d/$h/hosts.toml" || exit 1; done', 'sh', ...hosts], { signal, stdin: NODE_E2E_REGISTRY_HOSTS });
    await writeNodeFile(node, `${NODE_E2E_DIR}/kubelet-config.yaml`, nodeE2eKubeletConfig(version), { signal });
    await node.copyIn(NODE_E2E_DIR, tarOf([suite, ginkgo]), { signal });
    await syncImagesIntoNodes(driver, [node], needed.map((n) => n.image.ref), { cacheDir, logger, signal });

    // what this machine cannot give some tests (kernel features), asked of the container
    const failedProbes = new Set<LeftOutRule>();
    for (const rule of rules) {
      if (rule.unless && toRun.some((n) => new RegExp(rule.pattern).test(n)) && (await node.run(rule.unless, { signal })).exitCode !== 0) failedProbes.add(rule);
    }
    leftOut = leftOutTests(names, rules, failedProbes);
    toRun = names.filter((n) => !leftOut.some((l) => l.name === n));
    if (toRun.length === 0) throw nothingLeft();
    const applied = rules.filter((r) => !r.unless || failedProbes.has(r)).map((r) => r.pattern);
    const runFilters = leftOut.length ? testFilters(options, filters.labelFilter, applied) : filters;
    logger.info(`${toRun.length} test(s) of Kubernetes ${version}'s node e2e suite ${what}${leftOut.length ? ` (${leftOut.length} left out: see the report)` : ''}; ${parallelism} in parallel; report in ${reportDir}`);

    const argv = [`${NODE_E2E_DIR}/ginkgo`, ...nodeE2eGinkgoArgs(runFilters, parallelism, timeoutMinutes)];
    const out = createWriteStream(log);
    out.write(`+ ${argv.map(shellWord).join(' ')}\n`);
    const started = performance.now();
    // detached from the exec: output to a file, read as it grows; the exit code to another
    const script = `mkdir -p ${REPORT_IN_NODE} && cd ${REPORT_IN_NODE} && rm -f ${EXIT_IN_NODE} && (${argv.map(shellWord).join(' ')} >${LOG_IN_NODE} 2>&1; echo $? >${EXIT_IN_NODE}.tmp; mv ${EXIT_IN_NODE}.tmp ${EXIT_IN_NODE})`;
    await node.exec(['sh', '-c', `setsid sh -c ${shellWord(script)} </dev/null >/dev/null 2>&1 &`], { signal });
    const progress = specProgress(toRun, toRun.length, options.onSpec);
    let offset = 0;
    let code: number | undefined;
    const deadline = Date.now() + (timeoutMinutes + 10) * 60_000;
    try {
      for (;;) {
        // the exit code (a line, empty while ginkgo runs), then the log from where the last read ended
        const r = await node.run(['sh', '-c', `printf '%s\\n' "$(cat ${EXIT_IN_NODE} 2>/dev/null)"; tail -c +${offset + 1} ${LOG_IN_NODE} 2>/dev/null`], { signal });
        const [exitLine = '', ...rest] = r.stdout.split('\n');
        const chunk = rest.join('\n');
        const complete = chunk.slice(0, chunk.lastIndexOf('\n') + 1);
        offset += Buffer.byteLength(complete);
        for (const line of complete.split('\n').slice(0, -1)) {
          out.write(`${line}\n`);
          progress(line);
        }
        if (exitLine.trim() !== '') {
          code = Number(exitLine.trim());
          // the last lines, written before the exit code
          if (chunk.length > complete.length) {
            const tail = chunk.slice(complete.length);
            out.write(`${tail}\n`);
            progress(tail);
          }
          break;
        }
        if (Date.now() > deadline) throw new LocalClusterError(`The node e2e run did not end within ${timeoutMinutes + 10} minutes.`, { hint: `See ${log}.` });
        await new Promise((resolve) => setTimeout(resolve, 2000));
      }
    } finally {
      await new Promise((resolve) => out.end(resolve));
    }
    // the reports (JSON, JUnit, the kubelet's log) out of the container
    await extractTar(await node.copyOut(REPORT_IN_NODE, { signal }), reportDir);
    const outcome = await suiteOutcome(join(reportDir, basename(REPORT_IN_NODE)), code, log, { ...(options.junitDir ? { dir: options.junitDir } : {}), name: 'junit_node_e2e.xml' });
    keep = Boolean(options.keep);
    return {
      ...base(),
      ...outcome,
      durationMs: performance.now() - started,
      unbuildableImages: unbuildable.map((i) => i.ref),
      ...(keep ? { container: node.name } : {}),
    };
  } catch (error) {
    if (signal.aborted) throw new AbortedError('e2e-node run', { cause: error });
    throw error;
  } finally {
    if (!keep) {
      // without the (maybe aborted) signal: the container goes whatever happened
      await driver.removeNodes([node]).catch((error: Error) => logger.warn(`could not remove ${node.name}: ${error.message}`));
    }
  }
}
