#!/usr/bin/env bash
# `make demo`: on the local control plane (already started by `make cluster-up`), runs the
# manager (bin/cutover) in the background, applies the sample Rollouts from config/samples to
# the namespace "default" together with the Services and Istio objects they refer to, waits
# until the Rollouts have a status and shows what the operator made. The cluster and the manager
# keep running afterwards.
#
# Environment:
#   K8S_BIN      directory with kubectl (make control-plane)
#   CLUSTER_DIR  the cluster's state directory (make cluster-up)
#   CUTOVER_MANAGER       manager binary (default bin/cutover)
#   CUTOVER_PROBE_ADDR    the manager's health probe address (default 127.0.0.1:18081)
#   CUTOVER_DEMO_TIMEOUT  seconds to wait for the Rollouts' status (default 60)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "${here}/.." && pwd)"

: "${K8S_BIN:?K8S_BIN must name the directory with the control-plane binaries (make control-plane)}"
: "${CLUSTER_DIR:?CLUSTER_DIR must name the cluster state directory (make cluster-up)}"
CLUSTER_DIR="$(cd "${CLUSTER_DIR}" && pwd)"
KUBECTL="${K8S_BIN}/kubectl"
export KUBECONFIG="${CLUSTER_DIR}/kubeconfig"
MANAGER="${CUTOVER_MANAGER:-${root}/bin/cutover}"
PROBE_ADDR="${CUTOVER_PROBE_ADDR:-127.0.0.1:18081}"
TIMEOUT="${CUTOVER_DEMO_TIMEOUT:-60}"
NS=default
PIDFILE="${CLUSTER_DIR}/run/cutover.pid"
MANAGER_LOG="${CLUSTER_DIR}/manager.log"

log() { echo "demo: $*" >&2; }
kc() { "${KUBECTL}" -n "${NS}" "$@"; }
manager_log_tail() {
  echo "----- last 60 lines of ${MANAGER_LOG} -----" >&2
  tail -n 60 "${MANAGER_LOG}" >&2 || true
}
manager_alive() {
  local pid
  [[ -f "${PIDFILE}" ]] || return 1
  pid="$(cat "${PIDFILE}")"
  kill -0 "${pid}" 2>/dev/null && [[ "$(ps -o stat= -p "${pid}" 2>/dev/null)" != Z* ]] &&
    [[ "$(ps -o comm= -p "${pid}" 2>/dev/null)" == cutover ]]
}

if [[ ! -f "${KUBECONFIG}" ]] || ! "${KUBECTL}" get --raw=/readyz --request-timeout=3s >/dev/null 2>&1; then
  log "the local control plane is not running: run 'make cluster-up' first"
  exit 1
fi
[[ -x "${MANAGER}" ]] || { log "${MANAGER} not found: run 'make build' first"; exit 1; }
"${KUBECTL}" get crd rollouts.cutover.dev >/dev/null 2>&1 ||
  { log "the Rollout CRD is not installed: run 'make manifests cluster-up'"; exit 1; }

# A manager left from an earlier demo is replaced, so a rebuilt binary is the one that runs.
if manager_alive; then
  pid="$(cat "${PIDFILE}")"
  log "stopping the manager of an earlier demo (pid ${pid})"
  kill -TERM "${pid}"
  for _ in $(seq 1 50); do manager_alive || break; sleep 0.2; done
  if manager_alive; then kill -KILL "${pid}" 2>/dev/null || true; fi
fi
rm -f "${PIDFILE}"

# ---------------------------------------------------------------------------------------------
# The samples, then what they refer to. The manager is not running yet, so its first look sees
# everything in place.

samples=()
for f in "${root}"/config/samples/*.yaml; do
  [[ "$(basename "${f}")" == kustomization.yaml ]] || samples+=(-f "${f}")
done
[[ ${#samples[@]} -gt 0 ]] || { log "no samples in config/samples"; exit 1; }
log "applying the samples to namespace ${NS}"
kc apply "${samples[@]}"

exists() { kc get "$1" "$2" >/dev/null 2>&1; }

# service NAME SELECTOR_JSON PORT: a ClusterIP Service, unless one of that name exists.
service() {
  exists service "$1" && return 0
  log "creating Service ${1}"
  kc create -f - >/dev/null <<EOF
apiVersion: v1
kind: Service
metadata:
  name: ${1}
  labels: {app.kubernetes.io/part-of: cutover-demo}
spec:
  selector: ${2}
  ports:
  - {name: http, port: 80, targetPort: ${3}}
EOF
}

# One line per Rollout, fields separated by "|" (a tab would not do: read folds empty fields
# between tabs).
fields='{range .items[*]}{.metadata.name}{"|"}{.spec.selector.matchLabels}{"|"}'
fields+='{.spec.template.spec.containers[0].ports[0].containerPort}{"|"}'
fields+='{.spec.strategy.blueGreen.activeService}{"|"}{.spec.strategy.blueGreen.previewService}{"|"}'
fields+='{.spec.trafficRouting.istio.virtualService.name}{"|"}{.spec.trafficRouting.istio.virtualService.routes[*]}{"|"}'
fields+='{.spec.trafficRouting.istio.destinationRule.name}{"|"}{.spec.trafficRouting.istio.destinationRule.stableSubset}{"|"}'
fields+='{.spec.trafficRouting.istio.destinationRule.canarySubset}{"\n"}{end}'

while IFS='|' read -r name selector port active preview vs routes dr stable canary; do
  [[ -n "${name}" ]] || continue
  [[ -n "${selector}" ]] || selector='{}'
  port="${port:-8080}"
  # The Service named after the Rollout (the one clients use), and the ones the strategy names.
  service "${name}" "${selector}" "${port}"
  [[ -n "${active}" ]] && service "${active}" "${selector}" "${port}"
  [[ -n "${preview}" ]] && service "${preview}" "${selector}" "${port}"
  # Istio: the user owns the VirtualService and the DestinationRule; make minimal ones.
  if [[ -n "${vs}" ]] && ! exists virtualservices.networking.istio.io "${vs}"; then
    log "creating VirtualService ${vs}"
    service "${vs}" "${selector}" "${port}"
    {
      printf 'apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata:\n  name: %s\nspec:\n  hosts: [%s]\n  http:\n' "${vs}" "${vs}"
      for r in ${routes:-primary}; do
        printf '  - name: %s\n    route:\n' "${r}"
        printf '    - {destination: {host: %s, subset: %s}, weight: 100}\n' "${vs}" "${stable:-stable}"
        printf '    - {destination: {host: %s, subset: %s}, weight: 0}\n' "${vs}" "${canary:-canary}"
      done
    } | kc create -f - >/dev/null
  fi
  if [[ -n "${dr}" ]] && ! exists destinationrules.networking.istio.io "${dr}"; then
    log "creating DestinationRule ${dr}"
    kc create -f - >/dev/null <<EOF
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: ${dr}
spec:
  host: ${vs:-${dr}}
  subsets:
  - {name: ${stable:-stable}, labels: ${selector}}
  - {name: ${canary:-canary}, labels: ${selector}}
EOF
  fi
done < <(kc get rollouts -o jsonpath="${fields}")

# ---------------------------------------------------------------------------------------------
# The manager

log "starting ${MANAGER#"${root}/"} (log: ${MANAGER_LOG})"
mkdir -p "$(dirname "${PIDFILE}")"
: >"${MANAGER_LOG}"
setsid "${MANAGER}" --leader-elect=false --metrics-bind-address=0 \
  --health-probe-bind-address="${PROBE_ADDR}" </dev/null >>"${MANAGER_LOG}" 2>&1 &
echo "$!" >"${PIDFILE}"

# Wait until every Rollout has a phase; then give them a few seconds to settle (leave
# Progressing), so the table below shows where they stand.
phases() { kc get rollouts -o jsonpath='{range .items[*]}{.metadata.name}{"|"}{.status.phase}{"\n"}{end}' 2>/dev/null; }
deadline=$(($(date +%s) + TIMEOUT))
settle_until=""
while :; do
  if ! manager_alive; then
    log "the manager exited"
    manager_log_tail
    exit 1
  fi
  total=0 with_phase=0 progressing=0
  while IFS='|' read -r name phase; do
    [[ -n "${name}" ]] || continue
    total=$((total + 1))
    [[ -n "${phase}" ]] && with_phase=$((with_phase + 1))
    [[ "${phase}" == Progressing ]] && progressing=$((progressing + 1))
  done < <(phases)
  now=$(date +%s)
  if ((total > 0 && with_phase == total)); then
    [[ -n "${settle_until}" ]] || settle_until=$((now + 10))
    ((progressing == 0 || now >= settle_until)) && break
  elif ((now >= deadline)); then
    if ((with_phase > 0)); then
      log "warning: only ${with_phase} of ${total} Rollouts have a status after ${TIMEOUT}s"
      break
    fi
    log "no Rollout got a status within ${TIMEOUT}s"
    manager_log_tail
    log "the manager is still running: kill \$(cat ${PIDFILE}), or make cluster-down"
    exit 1
  fi
  sleep 0.5
done

echo
kc get rollouts,replicasets,pods -o wide
first="$(kc get rollouts -o jsonpath='{.items[0].metadata.name}')"
cat <<EOF

The demo is running: the local control plane and the manager (pid $(cat "${PIDFILE}")) keep going.

Look further:
  export KUBECONFIG=${KUBECONFIG#"${root}/"}
  ${KUBECTL#"${root}/"} -n ${NS} get rollouts -w
  ${KUBECTL#"${root}/"} -n ${NS} describe rollout ${first}
  ${KUBECTL#"${root}/"} -n ${NS} get events --sort-by=.lastTimestamp
  ${KUBECTL#"${root}/"} -n ${NS} annotate rollout ${first} cutover.dev/promote=true   # leave a pause
  tail -f ${MANAGER_LOG#"${root}/"}                        # the manager's log

Stop:
  kill \$(cat ${PIDFILE#"${root}/"})   # the manager only
  make cluster-down                     # everything (the manager too)
EOF
