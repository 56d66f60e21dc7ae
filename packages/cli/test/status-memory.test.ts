import { describe, expect, it } from 'vitest';
import { workingSetBytes } from '../src/commands/status.js';

// `status` shows a node's memory as `docker stats` and `kubectl top` do: usage less inactive files.
describe('workingSetBytes', () => {
  it('cgroup v1: the hierarchy total (total_inactive_file), not the cgroup-local inactive_file listed before it', () => {
    expect(workingSetBytes(1_214_320_640, 'cache 500\ninactive_file 4128768\nactive_file 1\ntotal_inactive_file 416034816\n')).toBe(1_214_320_640 - 416_034_816);
  });
  it('cgroup v2: inactive_file', () => {
    expect(workingSetBytes(900, 'anon 100\ninactive_file 300\nactive_file 50\n')).toBe(600);
  });
  it('no inactive files listed: the usage; never below zero', () => {
    expect(workingSetBytes(900, 'anon 100\n')).toBe(900);
    expect(workingSetBytes(100, 'inactive_file 300\n')).toBe(0);
  });
});
