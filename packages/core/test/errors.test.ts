import { describe, expect, it } from 'vitest';
import {
  AbortedError,
  ConfigError,
  describeSource,
  DriverError,
  EngineUnreachableError,
  ExecError,
  isAbortedError,
  isConfigError,
  isDriverError,
  isEngineUnreachableError,
  isExecError,
  isLocalClusterError,
  isPluginError,
  isPreflightError,
  isStepError,
  LocalClusterError,
  PluginError,
  PreflightError,
  StepError,
  throwIfAborted,
} from '../src/errors.js';
import { thrownBy } from './helpers.js';

const cases: [name: string, guard: (e: unknown) => boolean, make: () => LocalClusterError][] = [
  ['ConfigError', isConfigError, () => new ConfigError('bad config', { setting: 'cluster.name' })],
  ['PluginError', isPluginError, () => new PluginError('bad plugin', { spec: 'x' })],
  ['EngineUnreachableError', isEngineUnreachableError, () => new EngineUnreachableError('unix:///var/run/docker.sock')],
  ['DriverError', isDriverError, () => new DriverError('createContainer', 'conflict', { statusCode: 409 })],
  ['ExecError', isExecError, () => new ExecError({ node: 'n', argv: ['true'], exitCode: 1, stdout: '', stderr: '' })],
  ['PreflightError', isPreflightError, () => new PreflightError('cgroups', 'no cgroup v2')],
  ['StepError', isStepError, () => new StepError('init', { cause: new Error('x') })],
  ['AbortedError', isAbortedError, () => new AbortedError()],
];

describe('error guards', () => {
  for (const [name, guard, make] of cases) {
    it(`${name}: guard matches its own class and the same name from another copy of core`, () => {
      const own = make();
      expect(own.name).toBe(name);
      expect(own).toBeInstanceOf(LocalClusterError);
      expect(own).toBeInstanceOf(Error);
      expect(guard(own)).toBe(true);
      expect(isLocalClusterError(own)).toBe(true);

      // another copy of core: not our class, same name
      const foreign = new Error('from another copy');
      foreign.name = name;
      expect(foreign).not.toBeInstanceOf(LocalClusterError);
      expect(guard(foreign)).toBe(true);
      const foreignWithDescribe = Object.assign(foreign, { describe: () => foreign.message });
      expect(isLocalClusterError(foreignWithDescribe)).toBe(true);

      for (const [otherName, otherGuard] of cases) {
        if (otherName !== name) expect(otherGuard(own), `${otherName} guard on ${name}`).toBe(false);
      }
    });
  }

  it('guards reject non-errors', () => {
    for (const [, guard] of cases) {
      for (const value of [undefined, null, 0, '', 'ConfigError', new Error('x'), {}]) {
        expect(guard(value)).toBe(false);
      }
    }
    expect(isLocalClusterError(new Error('x'))).toBe(false);
    expect(isLocalClusterError({ name: 'TypeError', describe: () => '' })).toBe(false);
    expect(isLocalClusterError({ name: 'LocalClusterError', describe: () => '' })).toBe(true);
  });
});

describe('LocalClusterError', () => {
  it('keeps cause and hint, and describe() adds the hint', () => {
    const cause = new Error('root');
    const error = new LocalClusterError('top', { cause, hint: 'do this' });
    expect(error.cause).toBe(cause);
    expect(error.describe()).toBe('top\ndo this');
    expect(new LocalClusterError('alone').describe()).toBe('alone');
    expect('cause' in new LocalClusterError('no cause')).toBe(false);
  });
});

describe('ExecError', () => {
  const stderr = Array.from({ length: 10 }, (_, i) => `err line ${i + 1}`).join('\n') + '\n';
  const error = new ExecError({
    node: 'local-control-plane',
    argv: ['kubeadm', 'init', '--config', '/kind/kubeadm.conf'],
    exitCode: 3,
    stdout: 'some stdout',
    stderr,
  });

  it('names the argv, node and exit code', () => {
    expect(error.message).toContain('`kubeadm init --config /kind/kubeadm.conf`');
    expect(error.message).toContain('on node local-control-plane');
    expect(error.message).toContain('exited with code 3');
    expect(error.argv).toEqual(['kubeadm', 'init', '--config', '/kind/kubeadm.conf']);
    expect(error.exitCode).toBe(3);
    expect(error.node).toBe('local-control-plane');
    expect(error.stdout).toBe('some stdout');
    expect(error.stderr).toBe(stderr);
  });

  it('ends with the last five lines of stderr', () => {
    expect(error.message.endsWith(':\nerr line 6\nerr line 7\nerr line 8\nerr line 9\nerr line 10')).toBe(true);
    expect(error.message).not.toContain('err line 5');
    expect(error.message).not.toContain('some stdout');
  });

  it('uses stdout when stderr is empty, and no tail when both are', () => {
    const fromStdout = new ExecError({ node: 'n', argv: ['x'], exitCode: 1, stdout: 'only stdout\n', stderr: '' });
    expect(fromStdout.message).toBe('`x` on node n exited with code 1:\nonly stdout');
    const silent = new ExecError({ node: 'n', argv: ['x', 'y'], exitCode: 127, stdout: '', stderr: '  \n' });
    expect(silent.message).toBe('`x y` on node n exited with code 127');
  });
});

describe('EngineUnreachableError', () => {
  it('says where the engine was looked for and mentions DOCKER_HOST', () => {
    const error = new EngineUnreachableError('unix:///var/run/docker.sock', { cause: new Error('ECONNREFUSED') });
    expect(error.message).toContain('not reachable at unix:///var/run/docker.sock');
    expect(error.message).toContain('DOCKER_HOST');
    expect(error.endpoint).toBe('unix:///var/run/docker.sock');
    expect((error.cause as Error).message).toBe('ECONNREFUSED');
    expect(error.hint).toBeTruthy();
  });

  it('lets the caller replace the hint', () => {
    expect(new EngineUnreachableError('tcp://h:2375', { hint: 'custom' }).hint).toBe('custom');
  });
});

describe('other errors', () => {
  it('DriverError prefixes the operation and keeps the status code', () => {
    const error = new DriverError('createContainer', 'name already in use', { statusCode: 409 });
    expect(error.message).toBe('createContainer: name already in use');
    expect(error.operation).toBe('createContainer');
    expect(error.statusCode).toBe(409);
  });

  it('PreflightError names its check', () => {
    expect(new PreflightError('cgroups', 'no cgroup v2').check).toBe('cgroups');
  });

  it('PluginError defaults tried to an empty list', () => {
    expect(new PluginError('x', { spec: 'y' }).tried).toEqual([]);
  });

  it('AbortedError names what was cancelled', () => {
    expect(new AbortedError().message).toBe('The operation was cancelled.');
    expect(new AbortedError('cluster creation').message).toBe('The cluster creation was cancelled.');
  });

  it('throwIfAborted throws only when the signal has fired, with its reason as cause', () => {
    expect(() => throwIfAborted(undefined)).not.toThrow();
    const controller = new AbortController();
    expect(() => throwIfAborted(controller.signal)).not.toThrow();
    controller.abort('stop');
    const error = thrownBy(() => throwIfAborted(controller.signal, 'pull')) as AbortedError;
    expect(isAbortedError(error)).toBe(true);
    expect(error.message).toBe('The pull was cancelled.');
    expect(error.cause).toBe('stop');
  });

  it('describeSource says where a value came from', () => {
    expect(describeSource({ kind: 'default' })).toBe('the default');
    expect(describeSource({ kind: 'file', path: '/c.yaml' })).toBe('file /c.yaml');
    expect(describeSource({ kind: 'file', path: '/c.yaml', line: 3 })).toBe('file /c.yaml:3');
    expect(describeSource({ kind: 'file', path: '/c.yaml', line: 3, column: 7 })).toBe('file /c.yaml:3:7');
    expect(describeSource({ kind: 'env', name: 'LOCAL_CLUSTER_NAME' })).toBe('environment variable LOCAL_CLUSTER_NAME');
    expect(describeSource({ kind: 'flag', name: 'name' })).toBe('flag --name');
    expect(describeSource({ kind: 'library' })).toBe('options passed to the library');
  });
});
