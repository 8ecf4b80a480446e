#!/usr/bin/env bash
# Stops or starts one component of the local control plane that hack/cluster-up.sh started, with
# the arguments it was started with. The fault tests use it to take kube-apiserver or etcd away
# and bring them back; etcd keeps its data directory, so the cluster's state survives.
#
# Usage: hack/cluster-component.sh stop|start|kill NAME
#   stop   SIGTERM, then wait up to 10 s for the process to exit (SIGKILL after that)
#   kill   SIGKILL, then wait for the process to exit
#   start  start it again in its own session, its log appended to logs/NAME.log
#
# Environment:
#   K8S_BIN      directory with the control-plane binaries
#   CLUSTER_DIR  the cluster state directory (run/NAME.pid and run/NAME.args)
set -euo pipefail

: "${K8S_BIN:?K8S_BIN must name the directory with the control-plane binaries}"
: "${CLUSTER_DIR:?CLUSTER_DIR must name the cluster state directory}"
action="${1:?usage: cluster-component.sh stop|start|kill NAME}"
name="${2:?usage: cluster-component.sh stop|start|kill NAME}"
RUN="${CLUSTER_DIR}/run"
LOGS="${CLUSTER_DIR}/logs"

[[ -f "${RUN}/${name}.args" ]] || { echo "cluster-component: ${name} was not started by cluster-up.sh" >&2; exit 1; }

# alive PID: the process runs the component's binary (comm is cut to 15 characters), not a
# recycled pid or a zombie.
alive() {
  local stat comm
  kill -0 "$1" 2>/dev/null || return 1
  read -r stat comm < <(ps -o stat=,comm= -p "$1" 2>/dev/null || true)
  [[ -n "${comm:-}" && "${stat}" != Z* && "${name}" == "${comm}"* ]]
}

# wait_gone PID TRIES: poll every 0.2 s until the process is gone.
wait_gone() {
  local i
  for ((i = 0; i < $2; i++)); do
    alive "$1" || return 0
    sleep 0.2
  done
  return 1
}

case "${action}" in
stop | kill)
  pid="$(cat "${RUN}/${name}.pid" 2>/dev/null || true)"
  if [[ -z "${pid}" ]] || ! alive "${pid}"; then
    echo "cluster-component: ${name} is not running" >&2
    exit 0
  fi
  if [[ "${action}" == stop ]]; then
    kill -TERM "${pid}"
    wait_gone "${pid}" 50 || kill -KILL "${pid}" 2>/dev/null || true
  else
    kill -KILL "${pid}"
  fi
  wait_gone "${pid}" 50 || { echo "cluster-component: ${name} (pid ${pid}) did not exit" >&2; exit 1; }
  ;;
start)
  pid="$(cat "${RUN}/${name}.pid" 2>/dev/null || true)"
  if [[ -n "${pid}" ]] && alive "${pid}"; then
    echo "cluster-component: ${name} is already running (pid ${pid})" >&2
    exit 1
  fi
  mapfile -t args <"${RUN}/${name}.args"
  echo "----- started again $(date -u +%FT%TZ) -----" >>"${LOGS}/${name}.log"
  setsid "${K8S_BIN}/${name}" "${args[@]}" </dev/null >>"${LOGS}/${name}.log" 2>&1 &
  echo "$!" >"${RUN}/${name}.pid"
  ;;
*)
  echo "usage: cluster-component.sh stop|start|kill NAME" >&2
  exit 2
  ;;
esac
