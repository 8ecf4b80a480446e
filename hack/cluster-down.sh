#!/usr/bin/env bash
# Stops the local control plane started by hack/cluster-up.sh (and the manager and registry
# started by hack/demo.sh): every process recorded in CLUSTER_DIR/run/*.pid is stopped, then the
# cluster's state (etcd data, certificates, kubeconfigs) is removed. The logs in CLUSTER_DIR/logs are kept
# for a look after the fact; the next cluster-up truncates them. Idempotent.
set -euo pipefail

: "${CLUSTER_DIR:?CLUSTER_DIR must name the cluster state directory}"

if [[ ! -d "${CLUSTER_DIR}" ]]; then
  exit 0
fi
CLUSTER_DIR="$(cd "${CLUSTER_DIR}" && pwd)"
RUN="${CLUSTER_DIR}/run"

log() { echo "cluster-down: $*" >&2; }

# The manager first (it talks to the API server), then the components in reverse start order.
order=(cutover kwok kube-scheduler kube-controller-manager kube-apiserver etcd)
pidfiles=()
for name in "${order[@]}"; do
  [[ -f "${RUN}/${name}.pid" ]] && pidfiles+=("${RUN}/${name}.pid")
done
# Anything else that was recorded.
for f in "${RUN}"/*.pid; do
  [[ -f "${f}" ]] || continue
  [[ " ${pidfiles[*]-} " == *" ${f} "* ]] || pidfiles+=("${f}")
done

# is_ours PID NAME: the process is alive and runs the binary the pid file is named after
# (comm is cut to 15 characters), so a recycled pid is never killed; a zombie counts as gone.
is_ours() {
  local stat comm
  kill -0 "$1" 2>/dev/null || return 1
  read -r stat comm < <(ps -o stat=,comm= -p "$1" 2>/dev/null || true)
  [[ -n "${comm:-}" && "${stat}" != Z* && "$2" == "${comm}"* ]]
}

pids=()
for f in "${pidfiles[@]+"${pidfiles[@]}"}"; do
  name="$(basename "${f}" .pid)"
  pid="$(cat "${f}" 2>/dev/null || true)"
  if [[ -n "${pid}" ]] && is_ours "${pid}" "${name}"; then
    log "stopping ${name} (pid ${pid})"
    kill -TERM "${pid}" 2>/dev/null || true
    pids+=("${pid}:${name}")
  fi
done

# Wait up to 10 s for them to exit, then kill what is left.
for _ in $(seq 1 50); do
  left=0
  for p in "${pids[@]+"${pids[@]}"}"; do
    is_ours "${p%%:*}" "${p#*:}" && left=1
  done
  [[ "${left}" == 0 ]] && break
  sleep 0.2
done
for p in "${pids[@]+"${pids[@]}"}"; do
  if is_ours "${p%%:*}" "${p#*:}"; then
    log "killing ${p#*:} (pid ${p%%:*})"
    kill -KILL "${p%%:*}" 2>/dev/null || true
  fi
done

rm -rf "${RUN}" "${CLUSTER_DIR}/etcd" "${CLUSTER_DIR}/pki" \
  "${CLUSTER_DIR}/kubeconfig" "${CLUSTER_DIR}/jane.kubeconfig"
log "stopped; logs kept in ${CLUSTER_DIR}/logs"
