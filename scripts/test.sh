#!/usr/bin/env bash
# The project's one test command (`npm test`; .ci/run calls exactly that): sets the
# checkout up (npm deps, Node 24, a Docker engine), builds, typechecks and lints every package,
# runs every package's unit and real-engine integration tests through nx, the Deno smoke
# test under the real deno binary, the e2e tests against real clusters, and prints one
# summary line.
set -Eeuo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
START=$SECONDS
bash scripts/setup.sh
export PATH=$PWD/node_modules/.bin:$PATH
echo "node $(node --version), deno $(deno --version | head -1 | cut -d' ' -f2), docker engine $(curl -fsS --unix-socket /var/run/docker.sock http://docker/version | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).Version))')"

rm -f packages/*/test-results.json examples/*/test-results.json images/test-results.json .test-results-deno.json tests/e2e/test-results.json
status=0
nx run-many -t typecheck lint --outputStyle=static || status=1
nx run-many -t test --outputStyle=static -- --reporter=default --reporter=json --outputFile.json=test-results.json || status=1

# Deno: core and the Docker driver through their public entries
deno_out=$(deno test -A --no-check tests/deno/ 2>&1) || status=1
echo "$deno_out"
node -e '
  const m = /(\d+) passed \| (\d+) failed/.exec(process.argv[1].replace(/\x1b\[[0-9;]*m/g, ""));
  const [p, f] = m ? [Number(m[1]), Number(m[2])] : [0, 1];
  require("fs").writeFileSync(".test-results-deno.json", JSON.stringify({ numPassedTests: p, numFailedTests: f }));
' "$deno_out"

# e2e: real clusters (the first `up` builds the node image when it is not cached)
vitest run --config tests/e2e/vitest.config.ts --reporter=default --reporter=json --outputFile.json=tests/e2e/test-results.json || status=1

reports=()
for f in packages/*/package.json examples/*/package.json images/package.json; do
  dir=$(dirname "$f")
  grep -q '"test"' "$f" && reports+=("$dir/test-results.json")
done
reports+=(.test-results-deno.json tests/e2e/test-results.json)
node scripts/summarize-tests.mjs "${reports[@]}" || status=1
echo "total time: $((SECONDS - START))s"
exit $status
