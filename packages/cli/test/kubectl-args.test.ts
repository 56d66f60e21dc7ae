import { describe, expect, it } from 'vitest';
import { splitClusterFlag } from '../src/commands/kubectl.js';

// `local-cluster kubectl` and `helm` pass their arguments through; the cluster is named first,
// with --name as every other command takes it, or --cluster.
describe('splitClusterFlag', () => {
  it('takes --name NAME, --name=NAME, --cluster NAME and --cluster=NAME in front', () => {
    expect(splitClusterFlag(['--name', 'dev', 'get', 'nodes'])).toEqual({ name: 'dev', args: ['get', 'nodes'] });
    expect(splitClusterFlag(['--name=dev', 'get', 'nodes'])).toEqual({ name: 'dev', args: ['get', 'nodes'] });
    expect(splitClusterFlag(['--cluster', 'dev', 'list', '-A'])).toEqual({ name: 'dev', args: ['list', '-A'] });
    expect(splitClusterFlag(['--cluster=dev', 'list'])).toEqual({ name: 'dev', args: ['list'] });
  });

  it("leaves the passed-through command's own flags alone, --name included when it is not first", () => {
    expect(splitClusterFlag(['get', 'pods', '-A'])).toEqual({ args: ['get', 'pods', '-A'] });
    expect(splitClusterFlag(['create', 'secret', 'generic', 'x', '--name', 'y'])).toEqual({ args: ['create', 'secret', 'generic', 'x', '--name', 'y'] });
  });

  it('refuses --name without a cluster name, saying where it goes', () => {
    expect(() => splitClusterFlag(['--name'])).toThrow(/--name needs a cluster name/);
    expect(() => splitClusterFlag(['--name', '-A'])).toThrow(/--name needs a cluster name/);
  });
});
