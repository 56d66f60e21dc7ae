import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

// Longest file first, so that the two files running side by side finish together instead of
// one long file running alone at the end. The seconds come from the newest warm suite
// benchmark in bench/results/ (bench/suite.mjs); a fresh clone has no vitest cache to order by.
// Files the benchmark does not know (new ones) go first.
const ROOT = join(import.meta.dirname, '..', '..');

function measuredSeconds(): Map<string, number> {
  const dir = join(ROOT, 'bench', 'results');
  const newest = readdirSync(dir).filter((f) => /^suite-.*-warm.*\.json$/.test(f)).sort().at(-1);
  const seconds = new Map<string, number>();
  if (!newest) return seconds;
  // clusterFiles; e2eFiles in the benchmarks of before tests/e2e became tests/clusters, so a file is known by its name
  const report = JSON.parse(readFileSync(join(dir, newest), 'utf8')) as Record<'clusterFiles' | 'e2eFiles', { file: string; seconds: number }[] | undefined>;
  for (const f of report.clusterFiles ?? report.e2eFiles ?? []) seconds.set(basename(f.file), f.seconds);
  return seconds;
}

export default class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const seconds = measuredSeconds();
    const key = (f: TestSpecification) => seconds.get(basename(f.moduleId)) ?? Number.POSITIVE_INFINITY;
    // stable: equal (unknown) files keep the base order
    return (await super.sort(files)).map((f, i) => ({ f, i })).sort((a, b) => {
      const group = a.f.project.config.sequence.groupOrder - b.f.project.config.sequence.groupOrder;
      return group || key(b.f) - key(a.f) || a.i - b.i;
    }).map(({ f }) => f);
  }
}
