#!/usr/bin/env bash
# The long conformance suites (`npm run test:conformance`), not part of `npm test`: for each CNI
# (LOCAL_CLUSTER_CONFORMANCE_CNIS, default "bridge flannel") a fresh 3-node cluster, then the
# upstream Kubernetes conformance tests through the CLI: `e2e` (every non-serial [Conformance]
# test, or LOCAL_CLUSTER_CONFORMANCE_FOCUS, e.g. "[sig-network]") and, unless
# LOCAL_CLUSTER_CONFORMANCE_SERIAL=0, `e2e-serial`. JUnit reports go to
# LOCAL_CLUSTER_CONFORMANCE_REPORTS (default ./conformance-reports/<cni>). Exit 1 if any test failed.
set -Euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/setup.sh
export PATH=$PWD/node_modules/.bin:$PATH
nx run-many -t build --outputStyle=static >/dev/null
CLI=(node packages/cli/dist/bin.js)
read -r -a CNIS <<<"${LOCAL_CLUSTER_CONFORMANCE_CNIS:-bridge flannel}"
FOCUS=${LOCAL_CLUSTER_CONFORMANCE_FOCUS:-}
REPORTS=${LOCAL_CLUSTER_CONFORMANCE_REPORTS:-$PWD/conformance-reports}
status=0
for cni in "${CNIS[@]}"; do
  name="conformance-$cni"
  echo "== $cni: up"
  "${CLI[@]}" clean --name "$name" >/dev/null 2>&1 || true
  if ! "${CLI[@]}" up --name "$name" --cni-plugin "$cni" --dind-subnet 10.205.0.0/16; then
    status=1
    continue
  fi
  start=$SECONDS
  echo "== $cni: e2e ${FOCUS:-(all non-serial conformance tests)}"
  "${CLI[@]}" e2e --name "$name" --junit "$REPORTS/$cni" ${FOCUS:+"$FOCUS"} || status=1
  if [[ ${LOCAL_CLUSTER_CONFORMANCE_SERIAL:-1} != 0 ]]; then
    echo "== $cni: e2e-serial"
    "${CLI[@]}" e2e-serial --name "$name" --junit "$REPORTS/$cni" ${FOCUS:+"$FOCUS"} || status=1
  fi
  echo "== $cni: done in $((SECONDS - start))s"
  "${CLI[@]}" clean --name "$name" >/dev/null || status=1
done
exit $status
