import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { thawContainerCgroups } from '../../src/thaw.js';

describe('thawContainerCgroups', () => {
  it('thaws every frozen cgroup under the container (v1 freezer and v2 cgroup.freeze), and nothing else', async () => {
    const root = mkdtempSync(join(tmpdir(), 'lc-cgroup-'));
    const id = 'abc123';
    const v1 = join(root, 'freezer', 'docker', id);
    const inner = join(v1, 'kubepods', 'pod1', 'c1');
    mkdirSync(inner, { recursive: true });
    writeFileSync(join(v1, 'freezer.state'), 'THAWED\n');
    writeFileSync(join(v1, 'kubepods', 'freezer.state'), 'THAWED\n');
    writeFileSync(join(v1, 'kubepods', 'pod1', 'freezer.state'), 'FREEZING\n');
    writeFileSync(join(inner, 'freezer.state'), 'FROZEN\n');
    const v2 = join(root, 'system.slice', `docker-${id}.scope`, 'inner');
    mkdirSync(v2, { recursive: true });
    writeFileSync(join(v2, 'cgroup.freeze'), '1\n');
    // another container's frozen cgroup is not ours
    const other = join(root, 'freezer', 'docker', 'other');
    mkdirSync(other, { recursive: true });
    writeFileSync(join(other, 'freezer.state'), 'FROZEN\n');

    expect(await thawContainerCgroups(id, root)).toBe(3);
    expect(readFileSync(join(inner, 'freezer.state'), 'utf8')).toBe('THAWED');
    expect(readFileSync(join(v1, 'kubepods', 'pod1', 'freezer.state'), 'utf8')).toBe('THAWED');
    expect(readFileSync(join(v2, 'cgroup.freeze'), 'utf8')).toBe('0');
    expect(readFileSync(join(other, 'freezer.state'), 'utf8')).toBe('FROZEN\n');
  });

  it('does nothing for a container whose cgroups are not on this machine (a remote engine)', async () => {
    expect(await thawContainerCgroups('nope', mkdtempSync(join(tmpdir(), 'lc-cgroup-')))).toBe(0);
  });
});
