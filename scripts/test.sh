#!/usr/bin/env bash
# The project's one test command (`npm test`; .ci/run calls exactly that): sets the
# checkout up (npm deps, Node 24, a Docker engine), starts building the default images,
# typechecks and lints every package, runs every package's unit and real-engine integration
# tests through nx, the Deno smoke test under the real deno binary, the cluster tests against real
# clusters, and prints one summary line. Each phase's seconds go to .test-phases.json.
set -Eeuo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
START=$SECONDS
bash scripts/setup.sh
export PATH=$PWD/node_modules/.bin:$PATH
# Debian's chromium, a tool only the tests need (setup.sh, which `./local-cluster` runs, leaves
# it out): the dashboard test opens the dashboard in a real headless browser
if ! command -v chromium >/dev/null 2>&1 && [[ $(id -u) == 0 ]]; then
  echo "Installing chromium (for the dashboard test)..." >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null || {
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }
fi

echo "node $(node --version), deno $(deno --version | head -1 | cut -d' ' -f2), docker engine $(curl -fsS --unix-socket /var/run/docker.sock http://docker/version | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).Version))')"

rm -f packages/*/test-results.json examples/*/test-results.json images/test-results.json .test-results-deno.json tests/clusters/test-results*.json
# each phase's seconds, for bench/suite.mjs
PHASES=.test-phases.json
echo "{\"setup\": $((SECONDS - START))" >"$PHASES"
phase() { echo ", \"$1\": $((SECONDS - PHASE_START))" >>"$PHASES"; PHASE_START=$SECONDS; }
PHASE_START=$SECONDS
status=0

# The node image and the bridge CNI's images, which nearly every cluster test file needs, start building
# now, beside typecheck, lint and the unit tests, instead of in the first cluster test file's `up`; when
# they are built already this takes a second. The cluster test files wait for it; the default addons'
# images come with the other background builds below (only a few files use them).
PREBUILD_LOG=$(mktemp -t lc-prebuild-XXXXXX.log)
node packages/cli/dist/bin.js images --build --addons '' >"$PREBUILD_LOG" 2>&1 &
PREBUILD=$!

# Typecheck, lint, the unit tests and the Deno smoke test run in the background, beside the
# image builds and then the cluster test files (they need a core or two for a minute or two,
# the cluster tests mostly wait on clusters); their output is printed after the side-by-side files.
STATIC_LOG=$(mktemp -t lc-static-XXXXXX.log)
STATIC_PHASES=$(mktemp -t lc-static-phases-XXXXXX)
static_checks() {
  local s=0 t=$SECONDS
  nx run-many -t typecheck lint --outputStyle=static || s=1
  tsc -p tests/tsconfig.json || s=1 # the cluster, CNI-matrix, versions-matrix and node-e2e tests (vitest only strips types)
  echo ", \"typecheck_lint\": $((SECONDS - t))" >>"$STATIC_PHASES"; t=$SECONDS
  nx run-many -t test --outputStyle=static -- --reporter=default --reporter=json --outputFile.json=test-results.json || s=1
  echo ", \"unit\": $((SECONDS - t))" >>"$STATIC_PHASES"; t=$SECONDS
  # Deno: core and the Docker driver through their public entries
  local deno_out
  deno_out=$(deno test -A --no-check tests/deno/ 2>&1) || s=1
  echo "$deno_out"
  node -e '
    const m = /(\d+) passed \| (\d+) failed/.exec(process.argv[1].replace(/\x1b\[[0-9;]*m/g, ""));
    const [p, f] = m ? [Number(m[1]), Number(m[2])] : [0, 1];
    require("fs").writeFileSync(".test-results-deno.json", JSON.stringify({ numPassedTests: p, numFailedTests: f }));
  ' "$deno_out"
  echo ", \"deno\": $((SECONDS - t))" >>"$STATIC_PHASES"
  return $s
}
static_checks >"$STATIC_LOG" 2>&1 &
STATIC=$!

if ! wait "$PREBUILD"; then
  echo "Building the default images failed (the cluster test files will try again and say why):" >&2
  tail -n 30 "$PREBUILD_LOG" >&2
fi
phase prebuild_wait

# The other images the cluster test files need (tests/clusters/suite-images.json) build in the background
# while the first files run; a file that needs one first waits for its build.
SUITE_LOG=$(mktemp -t lc-suite-images-XXXXXX.log)
node -e '
  const { spawnSync } = require("node:child_process");
  for (const args of require("./tests/clusters/suite-images.json").prebuild) {
    console.log(`== local-cluster images --build ${args.join(" ")}`);
    const r = spawnSync(process.execPath, ["packages/cli/dist/bin.js", "images", "--build", ...args], { stdio: "inherit" });
    if (r.status !== 0) console.log(`!! failed (exit ${r.status})`);
  }
' >"$SUITE_LOG" 2>&1 &
SUITE_IMAGES=$!

# Cluster tests: real clusters. Two files side by side, then (once the background builds are done: one
# of them restarts the engine) the ones that must run alone (tests/clusters/vitest.config.ts)
vitest run --config tests/clusters/vitest.config.ts --project side-by-side --reporter=default --reporter=json --outputFile.json=tests/clusters/test-results.json || status=1
phase clusters_side_by_side
echo "== typecheck, lint, unit tests, Deno (run beside the cluster test files)"
wait "$STATIC" || status=1
cat "$STATIC_LOG"
phase static_wait
wait "$SUITE_IMAGES" || true
if grep -q '^!! failed' "$SUITE_LOG"; then
  echo "A background image build failed (the files that need it said why):" >&2
  tail -n 30 "$SUITE_LOG" >&2
fi
phase suite_images_wait
vitest run --config tests/clusters/vitest.config.ts --project alone --reporter=default --reporter=json --outputFile.json=tests/clusters/test-results-alone.json || status=1
phase clusters_alone
cat "$STATIC_PHASES" >>"$PHASES"
echo "}" >>"$PHASES"

reports=()
for f in packages/*/package.json examples/*/package.json images/package.json; do
  dir=$(dirname "$f")
  grep -q '"test"' "$f" && reports+=("$dir/test-results.json")
done
reports+=(.test-results-deno.json tests/clusters/test-results.json tests/clusters/test-results-alone.json)
node scripts/summarize-tests.mjs "${reports[@]}" || status=1
echo "total time: $((SECONDS - START))s"
exit $status
