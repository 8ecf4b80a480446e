#!/usr/bin/env bash
# `make demo`: the story of a rollout, on the local control plane (already started by
# `make cluster-up`; kwok runs the pods).
#
#   1. A registry on 127.0.0.1 holds releases v1, v2 and v3 of a small application, podinfo
#      (hack/demo/server; it also serves the error rate of each revision's pods). The manager
#      (bin/cutover) starts, and podinfo v1 is applied with its Service, VirtualService and
#      DestinationRule (hack/demo/podinfo.yaml). Its tag is pinned to a digest.
#   2. v2 is rolled out as an Istio canary: 20%, a short pause, 50%, a pause that waits for a
#      promote (the demo promotes), 80%, then 100%, with a gate measuring the new revision's
#      error rate all along. The plugin's `get --watch` shows every step.
#   3. v3, whose error rate is 25%, is rolled out: the gate fails, the canary is aborted and all
#      traffic stays on v2.
#
# Each claim is checked (phase, weights, stable revision, what the gate measured): the script
# exits non-zero, with the manager's log, when one does not hold. With DEMO_NONINTERACTIVE=1 (or
# without a terminal) nothing waits for Enter between the acts. The cluster, the manager and the
# registry keep running afterwards; `make cluster-down` stops them all.
#
# Environment:
#   K8S_BIN      directory with kubectl (make control-plane)
#   CLUSTER_DIR  the cluster's state directory (make cluster-up)
#   DEMO_NONINTERACTIVE=1       no pauses between the acts
#   CUTOVER_MANAGER             manager binary (default bin/cutover)
#   CUTOVER_PLUGIN              the kubectl plugin (default bin/kubectl-cutover)
#   CUTOVER_PROBE_ADDR          the manager's health probe address (default 127.0.0.1:18081)
#   CUTOVER_METRICS_ADDR        the manager's metrics address (default 0: off)
#   CUTOVER_DEMO_REGISTRY_PORT  the registry's port on 127.0.0.1 (default 15000)
#   CUTOVER_DEMO_METRICS_PORT   the error-rate endpoint's port on 127.0.0.1 (default 15090)
#   CUTOVER_DEMO_TIMEOUT        seconds each act may take (default 90)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "${here}/.." && pwd)"

: "${K8S_BIN:?K8S_BIN must name the directory with the control-plane binaries (make control-plane)}"
: "${CLUSTER_DIR:?CLUSTER_DIR must name the cluster state directory (make cluster-up)}"
CLUSTER_DIR="$(cd "${CLUSTER_DIR}" && pwd)"
KUBECTL="${K8S_BIN}/kubectl"
export KUBECONFIG="${CLUSTER_DIR}/kubeconfig"
MANAGER="${CUTOVER_MANAGER:-${root}/bin/cutover}"
PLUGIN="${CUTOVER_PLUGIN:-${root}/bin/kubectl-cutover}"
SERVER="${root}/bin/cutover-demo"
PROBE_ADDR="${CUTOVER_PROBE_ADDR:-127.0.0.1:18081}"
METRICS_ADDR="${CUTOVER_METRICS_ADDR:-0}"
REGISTRY="127.0.0.1:${CUTOVER_DEMO_REGISTRY_PORT:-15000}"
METRICS="127.0.0.1:${CUTOVER_DEMO_METRICS_PORT:-15090}"
TIMEOUT="${CUTOVER_DEMO_TIMEOUT:-90}"
NS=default
NAME=podinfo
RUN="${CLUSTER_DIR}/run"
LOGS="${CLUSTER_DIR}/logs"
interactive=0
[[ -z "${DEMO_NONINTERACTIVE:-}" && -t 0 && -t 1 ]] && interactive=1
started=$(date +%s)
watcher=""

# ---------------------------------------------------------------------------------------------
# Output

if [[ -t 1 ]]; then bold=$'\e[1m' green=$'\e[32m' off=$'\e[0m'; else bold="" green="" off=""; fi
log() { echo "demo: $*" >&2; }
act() { printf '\n%s== %s%s\n' "${bold}" "$*" "${off}"; }
ok() { printf '%s✓ %s%s\n' "${green}" "$*" "${off}"; }
tail_log() { # NAME
  echo "----- last 40 lines of ${LOGS}/$1.log -----" >&2
  tail -n 40 "${LOGS}/$1.log" >&2 || true
}
fail() {
  stop_watch
  echo "demo: FAILED: $*" >&2
  kc get rollout "${NAME}" -o yaml >&2 2>/dev/null | sed -n '/^status:/,$p' >&2 || true
  tail_log cutover
  tail_log cutover-demo
  echo "demo: the cluster keeps running for a look; stop it with 'make cluster-down'" >&2
  exit 1
}
# next: in interactive mode, wait for Enter before the next act.
next() {
  ((interactive)) || return 0
  read -r -p "${bold}Press Enter to $*${off} " _
}

kc() { "${KUBECTL}" -n "${NS}" "$@"; }

# ---------------------------------------------------------------------------------------------
# Background processes: pid files in CLUSTER_DIR/run, so `make cluster-down` stops them too.

# alive NAME: the process of NAME's pid file runs, and runs the binary NAME.
alive() {
  local pid stat comm
  pid="$(cat "${RUN}/$1.pid" 2>/dev/null)" || return 1
  read -r stat comm < <(ps -o stat=,comm= -p "${pid}" 2>/dev/null || true)
  [[ -n "${comm:-}" && "${stat}" != Z* && "$1" == "${comm}"* ]]
}

# stop NAME: stops the process of an earlier demo, so the rebuilt binary is the one that runs.
stop() {
  local pid
  alive "$1" || { rm -f "${RUN}/$1.pid"; return 0; }
  pid="$(cat "${RUN}/$1.pid")"
  log "stopping the $1 of an earlier demo (pid ${pid})"
  kill -TERM "${pid}"
  for _ in $(seq 1 50); do alive "$1" || break; sleep 0.2; done
  alive "$1" && kill -KILL "${pid}" 2>/dev/null
  rm -f "${RUN}/$1.pid"
}

# start BINARY ARGS...: runs BINARY in the background, its log in LOGS/<name>.log.
start() {
  local bin="$1" name
  name="$(basename "$1")"
  shift
  stop "${name}"
  : >"${LOGS}/${name}.log"
  setsid "${bin}" "$@" </dev/null >>"${LOGS}/${name}.log" 2>&1 &
  echo "$!" >"${RUN}/${name}.pid"
}

# wait_until SECONDS DESCRIPTION COMMAND...: polls COMMAND every half second; the manager and
# the demo server must stay alive meanwhile.
wait_until() {
  local seconds="$1" what="$2" deadline p
  deadline=$(($(date +%s) + seconds))
  shift 2
  until "$@"; do
    for p in cutover cutover-demo; do
      [[ ! -f "${RUN}/${p}.pid" ]] || alive "${p}" || fail "${p} exited while waiting for ${what}"
    done
    (($(date +%s) < deadline)) || fail "timed out after ${seconds}s waiting for ${what}"
    sleep 0.5
  done
}

# ---------------------------------------------------------------------------------------------
# What the demo looks at

# field JSONPATH: a field of the Rollout.
field() { kc get rollout "${NAME}" -o "jsonpath=$1"; }
# weight SUBSET: the weight of SUBSET in the managed route of the VirtualService.
weight() { kc get virtualservice "${NAME}" -o "jsonpath={.spec.http[0].route[?(@.destination.subset==\"$1\")].weight}"; }
# subset_revision SUBSET: the revision the DestinationRule's SUBSET is labelled with.
subset_revision() {
  kc get destinationrule "${NAME}" -o "jsonpath={.spec.subsets[?(@.name==\"$1\")].labels.cutover\.dev/revision}"
}
# version REVISION: the release that REVISION's pods run, from the error-rate endpoint.
version() {
  curl -fsS -A demo.sh "http://${METRICS}/error-rate?namespace=${NS}&rollout=${NAME}&revision=$1" |
    sed -n 's/.*"version":"\([^"]*\)".*/\1/p'
}
# measured REVISION: what the error-rate endpoint last answered the gate (not this script) for
# REVISION: "v3 0.25".
measured() {
  grep -v '(asked by demo.sh)$' "${LOGS}/cutover-demo.log" |
    sed -n "s/.*revision $1: \([^ ]* [^ ]*\) .*/\1/p" | tail -n 1
}
# phase_is PHASE STEP WEIGHT: the Rollout is in PHASE at STEP, with WEIGHT to the canary.
phase_is() {
  [[ "$(field '{.status.phase}/{.status.currentStepIndex}/{.status.canaryWeight}')" == "$1/$2/$3" ]]
}
# check DESCRIPTION WANT GOT: a claim of the demo, checked.
check() {
  [[ "$2" == "$3" ]] || fail "$1: want ${2:-nothing}, got ${3:-nothing}"
  ok "$1: $3"
}

# ---------------------------------------------------------------------------------------------
# The plugin (bin/kubectl-cutover) drives the Rollout

cutover() { "${PLUGIN}" -n "${NS}" "$@"; }

# start_watch: `get rollout --watch` shows every change until stop_watch. (The plugin runs
# directly, not through a function, so that $! is its pid.)
start_watch() {
  "${PLUGIN}" -n "${NS}" get rollout "${NAME}" --watch &
  watcher=$!
}
stop_watch() {
  [[ -n "${watcher}" ]] || return 0
  kill "${watcher}" 2>/dev/null || true
  wait "${watcher}" 2>/dev/null || true
  watcher=""
}
trap stop_watch EXIT

# status WANT_EXIT: `kubectl cutover status` must exit WANT_EXIT (0 Healthy, 2 Aborted).
status() {
  local rc=0
  cutover status "${NAME}" --timeout "${TIMEOUT}s" >"${LOGS}/status.log" 2>&1 || rc=$?
  [[ "${rc}" == "$1" ]] || { cat "${LOGS}/status.log" >&2; fail "kubectl cutover status exited ${rc}, not $1"; }
  ok "kubectl cutover status exited ${rc}: $(tail -n 1 "${LOGS}/status.log" | sed 's/^error: //')"
}

# ---------------------------------------------------------------------------------------------
# Act 1: the registry, the manager and podinfo v1

if [[ ! -f "${KUBECONFIG}" ]] || ! "${KUBECTL}" get --raw=/readyz --request-timeout=3s >/dev/null 2>&1; then
  log "the local control plane is not running: run 'make cluster-up' first"
  exit 1
fi
for b in "${MANAGER}" "${PLUGIN}"; do
  [[ -x "${b}" ]] || { log "${b} not found: run 'make build' first"; exit 1; }
done
command -v curl >/dev/null || { log "curl is needed to ask the demo's error-rate endpoint"; exit 1; }
"${KUBECTL}" get crd rollouts.cutover.dev >/dev/null 2>&1 ||
  { log "the Rollout CRD is not installed: run 'make manifests cluster-up'"; exit 1; }
mkdir -p "${RUN}" "${LOGS}"

act "Act 1: a registry with podinfo v1, v2 and v3, the manager, and podinfo v1"
log "building the demo's registry and error-rate server (hack/demo/server)"
(cd "${root}" && go build -o "${SERVER}" ./hack/demo/server)
start "${SERVER}" --registry-address="${REGISTRY}" --metrics-address="${METRICS}" --kubeconfig="${KUBECONFIG}"
server_up() { curl -fsS -o /dev/null "http://${METRICS}/healthz" 2>/dev/null; }
wait_until 30 "the demo's registry (${REGISTRY}, CUTOVER_DEMO_REGISTRY_PORT) and error-rate endpoint (${METRICS}, CUTOVER_DEMO_METRICS_PORT)" server_up
grep 'pushed' "${LOGS}/cutover-demo.log" | sed 's/^[0-9\/: ]*/  /' | sort

# An earlier demo's podinfo goes first (with its ReplicaSets), so the story starts at v1.
if kc get rollout "${NAME}" >/dev/null 2>&1; then
  log "deleting the podinfo of an earlier demo"
  kc delete rollout,virtualservice,destinationrule,service -l app.kubernetes.io/part-of=cutover-demo --wait=true >/dev/null
  no_replicasets() { [[ -z "$(kc get replicasets -l "cutover.dev/rollout=${NAME}" -o name)" ]]; }
  wait_until 60 "the earlier demo's ReplicaSets to be deleted" no_replicasets
fi

log "starting ${MANAGER#"${root}/"} with --insecure-registries=${REGISTRY} (log: ${LOGS}/cutover.log)"
start "${MANAGER}" --leader-elect=false --metrics-bind-address="${METRICS_ADDR}" \
  --health-probe-bind-address="${PROBE_ADDR}" --insecure-registries="${REGISTRY}"

log "applying hack/demo/podinfo.yaml (podinfo:v1) to namespace ${NS}"
sed -e "s|@REGISTRY@|${REGISTRY}|g" -e "s|@METRICS@|${METRICS}|g" "${here}/demo/podinfo.yaml" | kc apply -f -
status 0
cutover get rollout "${NAME}"
v1="$(field '{.status.stableRevision}')"
check "revision ${v1} runs" v1 "$(version "${v1}")"

# ---------------------------------------------------------------------------------------------
# Act 2: v2, a canary step by step

next "roll out v2"
act "Act 2: podinfo v2, a canary: 20%, pause 10s, 50%, pause until promoted, 80%, 100%"
start_watch
cutover set image "${NAME}" "app=${REGISTRY}/demo/podinfo:v2"
wait_until "${TIMEOUT}" "v2 to wait for a promote at 50%" phase_is Paused 3 50
stop_watch
ok "v2 serves 50% and waits for a promote: $(field '{.status.message}')"
next "promote"
start_watch
cutover promote "${NAME}"
status 0
stop_watch
v2="$(field '{.status.stableRevision}')"
[[ "${v2}" != "${v1}" ]] || fail "the stable revision is still v1's (${v1})"
check "the stable revision runs" v2 "$(version "${v2}")"
check "weights stable/canary" "100/0" "$(weight stable)/$(weight canary)"
check "the stable subset's revision" "${v2}" "$(subset_revision stable)"
check "gate error-rate" Passed "$(field '{.status.gates[?(@.name=="error-rate")].phase}')"
check "what the gate measured for ${v2} (release, error rate)" "v2 0.001" "$(measured "${v2}")"

# ---------------------------------------------------------------------------------------------
# Act 3: v3, a bad release rolled back

next "roll out v3, whose error rate is 25%"
act "Act 3: podinfo v3, one request in four fails: the gate fails and the canary is rolled back"
start_watch
cutover set image "${NAME}" "app=${REGISTRY}/demo/podinfo:v3"
status 2
# The abort is recorded first; then the traffic goes back and the canary is scaled down.
back_on_stable() { [[ "$(weight stable)/$(weight canary)" == 100/0 ]]; }
wait_until "${TIMEOUT}" "all traffic back on v2" back_on_stable
stop_watch
v3="$(field '{.status.currentRevision}')"
check "what the gate measured for ${v3} (release, error rate)" "v3 0.25" "$(measured "${v3}")"
check "phase" Aborted "$(field '{.status.phase}')"
check "why" GateFailed "$(field '{.status.conditions[?(@.type=="Stalled")].reason}')"
check "the stable revision is still" "${v2}" "$(field '{.status.stableRevision}')"
check "weights stable/canary" "100/0" "$(weight stable)/$(weight canary)"
echo
cutover history "${NAME}"

# ---------------------------------------------------------------------------------------------
# What next

k="${KUBECTL#"${root}/"}" p="${PLUGIN#"${root}/"}"
cat <<EOF

${bold}Done in $(($(date +%s) - started))s.${off} The cluster, the manager and the registry keep running. Try:

  export KUBECONFIG=${KUBECONFIG}
  ${p} get rollout ${NAME}      # the tree: revisions, digests, weights, gates
  ${p} history ${NAME}          # v1 and v2 promoted, v3 aborted, and why
  ${p} retry ${NAME}            # v3 again: the gate fails again
  ${p} set image ${NAME} app=${REGISTRY}/demo/podinfo:v1 && ${p} get rollout ${NAME} --watch
  ${p} promote ${NAME}          # leave the pause {} (the annotation cutover.dev/promote=true)
  ${k} get rollouts
  ${k} describe rollout ${NAME}  # conditions and Events

  \`make install-plugin\` puts the plugin on PATH, so that \`kubectl cutover ...\` works.
  The manager's log: ${LOGS}/cutover.log
  Read next: docs/concepts.md, docs/gates.md, docs/plugin.md, hack/demo/podinfo.yaml
  Stop everything (control plane, manager, registry): make cluster-down
EOF
