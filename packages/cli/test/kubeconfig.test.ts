import yaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { withServer } from '../src/commands/kubeconfig.js';

// `kubeconfig --internal`: the admin kubeconfig with the server a container on the cluster network reaches.
describe('withServer', () => {
  it('points every cluster at the server and leaves the credentials and contexts as they are', () => {
    const admin = [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '- cluster:',
      '    certificate-authority-data: Q0E=',
      '    server: https://127.0.0.1:41603',
      '  name: kubernetes',
      'contexts:',
      '- context: {cluster: kubernetes, user: kubernetes-admin}',
      '  name: kubernetes-admin@kubernetes',
      'current-context: kubernetes-admin@kubernetes',
      'users:',
      '- name: kubernetes-admin',
      '  user: {client-certificate-data: Q0VSVA==, client-key-data: S0VZ}',
      '',
    ].join('\n');
    const internal = yaml.load(withServer(admin, 'https://10.218.0.2:6443')) as Record<string, unknown>;
    const before = yaml.load(admin) as Record<string, unknown>;
    expect(internal).toEqual({ ...before, clusters: [{ name: 'kubernetes', cluster: { 'certificate-authority-data': 'Q0E=', server: 'https://10.218.0.2:6443' } }] });
  });
});
