import { createServer, type Server } from 'node:net';
import { describe, expect, it } from 'vitest';
import { checkAddon } from '@local-cluster/core/testing';
import { configSchema, planNodes, recipeProblems, type Driver } from '@local-cluster/core';
import {
  gatewayApiCrds, gatewayManifest, ingress, ingressImages, ingressManifest, ingressPortMappings, ingressPreflight, traefikArgs,
  GATEWAY_API_DEFAULT_VERSION, INGRESS_CLASS, TRAEFIK_IMAGE,
} from '../src/ingress.js';

type Obj = { kind: string; metadata: { name: string; namespace?: string; annotations?: Record<string, string> }; spec?: Record<string, unknown> };
const config = (cluster: Record<string, unknown> = {}) => configSchema.parse({ cluster: { addons: ['ingress'], ...cluster } });
const localDriver = { name: 'docker' } as unknown as Driver;

function hold(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ port, host: '127.0.0.1' }, () => resolve(server));
  });
}

describe('ingress addon', () => {
  it('is a valid addon whose image recipe is valid and names the three source changes', () => {
    expect(checkAddon(ingress())).toEqual([]);
    const [image] = ingressImages();
    expect(image!.ref).toBe(TRAEFIK_IMAGE);
    expect(recipeProblems(image!.recipe)).toEqual([]);
    const bin = image!.recipe!.go![0]!;
    expect(bin.replace).toEqual({ 'github.com/abbot/go-http-auth': 'github.com/containous/go-http-auth v0.4.1-0.20200324110947-a37a7636d23e' });
    expect(bin.sourceFiles!.map((f) => f.path)).toEqual(['pkg/config/dynamic/ext/go.mod', 'pkg/config/dynamic/ext/ext.go', 'pkg/provider/acme/nodns/nodns.go']);
    expect(bin.sourceEdits![0]!.from).toBe('"github.com/go-acme/lego/v5/providers/dns"');
    // only the control planes run it
    expect(image!.loadIntoNodes).toBe('control-planes');
  });

  it('publishes 80 and 443 by default, and the configured ports, on 127.0.0.1 of the first control plane only', () => {
    expect(ingressPortMappings(config())).toEqual([
      { containerPort: 80, hostPort: 80, listenAddress: '127.0.0.1' },
      { containerPort: 443, hostPort: 443, listenAddress: '127.0.0.1' },
    ]);
    const c = config({ controlPlanes: 3, ingress: { httpPort: 8080, httpsPort: 8443 } });
    const plan = planNodes(c, [ingress()]);
    expect(plan.nodes[0]!.settings.extraPortMappings.map((p) => `${p.listenAddress}:${p.hostPort}->${p.containerPort}/${p.protocol}`)).toEqual(['127.0.0.1:8080->80/TCP', '127.0.0.1:8443->443/TCP']);
    expect(plan.nodes[1]!.settings.extraPortMappings).toEqual([]);
    // without the addon nothing is published
    expect(planNodes(c).nodes[0]!.settings.extraPortMappings).toEqual([]);
  });

  it('refuses a taken port naming the setting, services mode, equal ports and an unserved Gateway API release', async () => {
    const busy = await hold(0);
    const port = (busy.address() as { port: number }).port;
    try {
      await expect(ingressPreflight({ config: config({ ingress: { httpPort: port, httpsPort: 1 } }), driver: localDriver })).rejects.toThrow(`cluster.ingress.httpPort (--ingress-http-port): port ${port} is already in use`);
      await expect(ingressPreflight({ config: config({ ingress: { httpPort: 1, httpsPort: port } }), driver: localDriver })).rejects.toThrow(`cluster.ingress.httpsPort (--ingress-https-port): port ${port} is already in use`);
    } finally {
      busy.close();
    }
    await expect(ingressPreflight({ config: config({ mode: 'services' }), driver: localDriver })).rejects.toThrow(/needs nodes.*cluster\.mode is services/);
    await expect(ingressPreflight({ config: config({ ingress: { httpPort: 8080, httpsPort: 8080 } }), driver: localDriver })).rejects.toThrow('are both 8080');
    await expect(ingressPreflight({ config: config({ ingress: { httpPort: 0x7ff1, httpsPort: 0x7ff2, gatewayApiVersion: 'v0.0.99' } }), driver: localDriver })).rejects.toThrow(
      'cluster.ingress.gatewayApiVersion (--gateway-api-version) v0.0.99: the Go module proxy does not serve sigs.k8s.io/gateway-api@v0.0.99',
    );
  }, 60_000);

  it('defaults the Gateway API release to the one Traefik is built against, and refuses a malformed one in the schema', () => {
    expect(config().cluster.ingress.gatewayApiVersion).toBe(GATEWAY_API_DEFAULT_VERSION);
    expect(() => config({ ingress: { gatewayApiVersion: 'latest' } })).toThrow(/must be a release such as v1.6.1/);
  });

  it('makes the default IngressClass traefik, a GatewayClass and a Gateway with HTTP and HTTPS listeners', () => {
    const objects = ingressManifest({ node: 'kube-master', nodeAddress: '10.210.0.2', loadBalancer: false }) as Obj[];
    const cls = objects.find((o) => o.kind === 'IngressClass')!;
    expect(cls.metadata.name).toBe(INGRESS_CLASS);
    expect(cls.metadata.annotations!['ingressclass.kubernetes.io/is-default-class']).toBe('true');
    const service = objects.find((o) => o.kind === 'Service')!;
    expect(service.spec!.type).toBe('ClusterIP');
    expect((ingressManifest({ node: 'kube-master', nodeAddress: '10.210.0.2', loadBalancer: true }) as Obj[]).find((o) => o.kind === 'Service')!.spec!.type).toBe('LoadBalancer');
    const deployment = objects.find((o) => o.kind === 'Deployment')! as unknown as { spec: { template: { spec: { hostNetwork: boolean; nodeSelector: Record<string, string> } } } };
    expect(deployment.spec.template.spec.hostNetwork).toBe(true);
    expect(deployment.spec.template.spec.nodeSelector).toEqual({ 'kubernetes.io/hostname': 'kube-master' });
    expect(traefikArgs({ nodeAddress: '10.210.0.2' })).toEqual(expect.arrayContaining(['--providers.kubernetesingress=true', '--providers.kubernetesgateway=true', '--providers.kubernetesgateway.statusaddress.ip=10.210.0.2', '--providers.kubernetesingress.allowEmptyServices=true']));
    const [gwc, gw] = gatewayManifest() as Obj[];
    expect(gwc!.kind).toBe('GatewayClass');
    expect((gw!.spec!.listeners as { port: number; protocol: string }[]).map((l) => `${l.protocol}/${l.port}`)).toEqual(['HTTP/80', 'HTTPS/443']);
  });

  it("reads the standard channel's CRDs from the gateway-api module", async () => {
    const crds = (await gatewayApiCrds(GATEWAY_API_DEFAULT_VERSION)) as Obj[];
    const names = crds.map((c) => c.metadata.name);
    expect(names).toEqual(expect.arrayContaining(['gatewayclasses.gateway.networking.k8s.io', 'gateways.gateway.networking.k8s.io', 'httproutes.gateway.networking.k8s.io', 'referencegrants.gateway.networking.k8s.io']));
    expect(crds.every((c) => c.kind === 'CustomResourceDefinition')).toBe(true);
  }, 60_000);
});
