#!/usr/bin/env node
// Gateway API's own conformance suite against the ingress addon (`npm run test:gateway-conformance`,
// not part of `npm test`): a cluster with --addons ingress (LOCAL_CLUSTER_GATEWAY_CLUSTER, default
// "ing-conformance", made on 10.219.0.0/16 and host ports 38080/38443 when it does not run), then
// the `conformance` module of sigs.k8s.io/gateway-api at the CRDs' release, built with `go test -c`
// by the image factory, for the GATEWAY-HTTP profile against GatewayClass traefik. Prints one line
// per test, writes the suite's YAML report and a JSON summary to bench/results/ (or
// LOCAL_CLUSTER_GATEWAY_REPORTS), JUnit to LOCAL_CLUSTER_GATEWAY_JUNIT when set. Exit 1 if any test failed.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { dockerDriver } from '@local-cluster/docker-driver';
import { GATEWAY_API_DEFAULT_VERSION, GATEWAY_CLASS, TRAEFIK_VERSION } from '@local-cluster/addons/ingress';
import { gatewayJunit, runGatewayConformance } from '@local-cluster/verify';

const root = fileURLToPath(new URL('..', import.meta.url));
const cluster = process.env.LOCAL_CLUSTER_GATEWAY_CLUSTER ?? 'ing-conformance';
const version = process.env.LOCAL_CLUSTER_GATEWAY_API_VERSION ?? GATEWAY_API_DEFAULT_VERSION;
const reports = process.env.LOCAL_CLUSTER_GATEWAY_REPORTS ?? join(root, 'bench', 'results');
const cli = (args) => execFileSync(process.execPath, [join(root, 'packages/cli/dist/bin.js'), ...args], { stdio: 'inherit' });

const driver = dockerDriver();
const running = (await driver.listNodes({ cluster }).catch(() => [])).length > 0;
if (!running) cli(['up', '--name', cluster, '--num-nodes', '1', '--addons', 'ingress', '--ingress-http-port', '38080', '--ingress-https-port', '38443', '--gateway-api-version', version, '--dind-subnet', '10.219.0.0/16']);
const day = new Date().toISOString().slice(0, 10);
mkdirSync(reports, { recursive: true });
const reportFile = join(reports, `gateway-conformance-${day}.yaml`);
const result = await runGatewayConformance({
  driver,
  cluster,
  version,
  gatewayClass: GATEWAY_CLASS,
  profiles: ['GATEWAY-HTTP'],
  // the profile's core features only: left empty, the suite takes the GatewayClass's advertised
  // features (Traefik lists TLSRoute and GRPCRoute too) and runs other profiles' tests as well
  supportedFeatures: (process.env.LOCAL_CLUSTER_GATEWAY_FEATURES ?? 'Gateway,HTTPRoute,ReferenceGrant').split(',').filter(Boolean),
  // what Traefik's own conformance reports skip: every Gateway of a port shares one entry point and
  // one address (the node's), so a route dedicated to one Gateway answers on the others too
  skipTests: (process.env.LOCAL_CLUSTER_GATEWAY_SKIP ?? 'HTTPRouteMultipleGateways').split(',').filter(Boolean),
  implementation: { organization: 'traefik', project: 'traefik', url: 'https://github.com/traefik/traefik', version: TRAEFIK_VERSION, contact: ['local-cluster'] },
  reportFile,
  logger: { info: (m) => console.log(m), debug: () => {}, warn: (m) => console.warn(m) },
  signal: AbortSignal.timeout(3_600_000),
});
for (const t of result.tests) console.log(`${t.state.toUpperCase().padEnd(7)} ${t.name} (${(t.durationMs / 1000).toFixed(1)}s)`);
const summary = { date: day, cluster, gatewayApiVersion: version, gatewayClass: GATEWAY_CLASS, controller: `traefik ${TRAEFIK_VERSION}`, passed: result.passed, failed: result.failed, skipped: result.skipped, exitCode: result.exitCode, durationSeconds: Math.round(result.durationMs / 1000), profiles: result.report?.profiles, tests: result.tests, report: reportFile };
writeFileSync(join(reports, `gateway-conformance-${day}.json`), `${JSON.stringify(summary, null, 2)}\n`);
// JUnit on request: LOCAL_CLUSTER_GATEWAY_JUNIT=path/to/junit.xml
if (process.env.LOCAL_CLUSTER_GATEWAY_JUNIT) writeFileSync(process.env.LOCAL_CLUSTER_GATEWAY_JUNIT, gatewayJunit(result));
console.log(`${result.passed} passed, ${result.failed} failed, ${result.skipped} skipped in ${summary.durationSeconds}s (exit ${result.exitCode}); report ${reportFile}; log ${result.logFile}`);
process.exit(result.failed || result.exitCode ? 1 : 0);
