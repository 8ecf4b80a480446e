#!/usr/bin/env bash
# Starts Cutover's local control plane on 127.0.0.1: etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler and kwok (fake nodes, no kubelet, no container engine).
# Then it installs the project's CRDs and the Istio CRDs pinned in go.mod.
#
# Environment:
#   K8S_BIN      directory with etcd, kube-apiserver, kube-controller-manager, kube-scheduler,
#                kubectl and kwok (`make control-plane` builds them; see hack/control-plane.sh)
#   CLUSTER_DIR  state directory: PKI, kubeconfigs, etcd data, pid files and logs
#   KUSTOMIZE    kustomize binary (default: bin/kustomize)
#   CUTOVER_ETCD_PORT, CUTOVER_ETCD_PEER_PORT, CUTOVER_APISERVER_PORT, CUTOVER_KCM_PORT,
#   CUTOVER_SCHEDULER_PORT, CUTOVER_KWOK_PORT   override the ports (defaults below)
#   CUTOVER_KWOK_NODES   number of fake nodes (default 2)
#   CUTOVER_ISTIO_CRD_GROUPS  space-separated Istio API groups whose CRDs are installed
#                             (default networking.istio.io: VirtualService, DestinationRule, ...)
#
# Audit log: kube-apiserver writes CLUSTER_DIR/logs/audit.log (JSON lines, Metadata level) for
# the write verbs on the objects the manager writes (Rollouts, ReplicaSets, Services, Events,
# Istio routing objects, Leases outside kube-node-lease) and nothing else. The HA e2e tests read it
# to see which manager process wrote what, and when (the user agent tells the processes apart).
#
# Idempotent: when the cluster is already running and ready it only re-applies the nodes and the
# project's CRDs and checks that everything works.
# Stop it with hack/cluster-down.sh (make cluster-down).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "${here}/.." && pwd)"

: "${K8S_BIN:?K8S_BIN must name the directory with the control-plane binaries (make control-plane)}"
: "${CLUSTER_DIR:?CLUSTER_DIR must name the cluster state directory}"
KUSTOMIZE="${KUSTOMIZE:-${root}/bin/kustomize}"

ETCD_PORT="${CUTOVER_ETCD_PORT:-12379}"
ETCD_PEER_PORT="${CUTOVER_ETCD_PEER_PORT:-12380}"
APISERVER_PORT="${CUTOVER_APISERVER_PORT:-16443}"
KCM_PORT="${CUTOVER_KCM_PORT:-16257}"
SCHEDULER_PORT="${CUTOVER_SCHEDULER_PORT:-16259}"
KWOK_PORT="${CUTOVER_KWOK_PORT:-16250}"
KWOK_NODES="${CUTOVER_KWOK_NODES:-2}"
ISTIO_CRD_GROUPS="${CUTOVER_ISTIO_CRD_GROUPS:-networking.istio.io}"

COMPONENTS=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok)

mkdir -p "${CLUSTER_DIR}"
CLUSTER_DIR="$(cd "${CLUSTER_DIR}" && pwd)"
K8S_BIN="$(cd "${K8S_BIN}" && pwd -P)"
KUBECTL="${K8S_BIN}/kubectl"
PKI="${CLUSTER_DIR}/pki"
LOGS="${CLUSTER_DIR}/logs"
RUN="${CLUSTER_DIR}/run"
KUBECONFIG_ADMIN="${CLUSTER_DIR}/kubeconfig"
SERVER="https://127.0.0.1:${APISERVER_PORT}"

start_ms=$(($(date +%s%N) / 1000000))
log() {
  local ms=$(($(date +%s%N) / 1000000 - start_ms))
  printf 'cluster-up: [%3d.%01ds] %s\n' $((ms / 1000)) $((ms % 1000 / 100)) "$*" >&2
}
kc() { "${KUBECTL}" --kubeconfig "${KUBECONFIG_ADMIN}" "$@"; }

# fail MESSAGE [COMPONENT...]: print the message and the tail of each component's log, exit 1.
fail() {
  local msg="$1" c
  shift
  echo "cluster-up: ERROR: ${msg}" >&2
  for c in "$@"; do
    if [[ -f "${LOGS}/${c}.log" ]]; then
      echo "----- last 40 lines of ${LOGS}/${c}.log -----" >&2
      tail -n 40 "${LOGS}/${c}.log" >&2
    fi
  done
  echo "cluster-up: state and logs are in ${CLUSTER_DIR}; stop with 'make cluster-down'" >&2
  exit 1
}

# alive NAME: the process recorded in NAME's pid file is running and is that binary.
alive() {
  local name="$1" pid comm
  [[ -f "${RUN}/${name}.pid" ]] || return 1
  pid="$(cat "${RUN}/${name}.pid")"
  [[ -n "${pid}" ]] && kill -0 "${pid}" 2>/dev/null || return 1
  comm="$(ps -o comm= -p "${pid}" 2>/dev/null || true)"
  # comm is cut to 15 characters ("kube-controller").
  [[ -n "${comm}" && "${name}" == "${comm}"* ]]
}

readyz() { kc get --raw=/readyz --request-timeout=2s >/dev/null 2>&1; }

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# start NAME ARGS...: run ${K8S_BIN}/NAME in its own session in the background. The arguments
# are kept in ${RUN}/NAME.args, one per line, so that hack/cluster-component.sh can start the
# component again after stopping it (the fault tests take kube-apiserver and etcd away).
start() {
  local name="$1"
  shift
  : >"${LOGS}/${name}.log"
  printf '%s\n' "$@" >"${RUN}/${name}.args"
  setsid "${K8S_BIN}/${name}" "$@" </dev/null >>"${LOGS}/${name}.log" 2>&1 &
  echo "$!" >"${RUN}/${name}.pid"
}

# wait_for SECONDS DESCRIPTION COMMAND...: poll COMMAND every 0.2 s; while waiting, every
# component that was started must stay alive.
wait_for() {
  local timeout="$1" what="$2" deadline c
  shift 2
  deadline=$(($(date +%s) + timeout))
  until "$@"; do
    for c in "${COMPONENTS[@]}"; do
      if [[ -f "${RUN}/${c}.pid" ]] && ! alive "${c}"; then
        fail "${c} exited while waiting for ${what}" "${c}"
      fi
    done
    if (($(date +%s) >= deadline)); then
      fail "timed out after ${timeout}s waiting for ${what}" "${WAIT_LOGS[@]}"
    fi
    sleep 0.2
  done
}

# install_project_crds: kustomize build config/crd | kubectl apply; skipped while there are none.
install_project_crds() {
  if ! compgen -G "${root}/config/crd/bases/*.yaml" >/dev/null; then
    log "config/crd/bases is empty: no project CRDs to install (run 'make manifests')"
    return 0
  fi
  [[ -x "${KUSTOMIZE}" ]] || fail "kustomize not found at ${KUSTOMIZE} (make kustomize)"
  log "installing the project's CRDs"
  local out
  if ! out="$("${KUSTOMIZE}" build "${root}/config/crd" | kc apply --server-side --force-conflicts -f - 2>&1)"; then
    fail "installing the project's CRDs (config/crd) failed; fix them and run cluster-up again:
${out}"
  fi
}

# install_istio_crds: the CRDs of the groups in ISTIO_CRD_GROUPS from the istio.io/api module, at
# the version go.mod selects (kubernetes/customresourcedefinitions.gen.yaml in its module dir).
install_istio_crds() {
  local version dir file tmp
  version="$(cd "${root}" && go list -m -f '{{.Version}}' istio.io/api)" ||
    fail "cannot find the istio.io/api version in go.mod"
  # Download outside the module so that go.sum is never touched.
  tmp="$(mktemp -d)"
  dir="$(cd "${tmp}" && go mod download -json "istio.io/api@${version}" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')" ||
    { rmdir "${tmp}"; fail "go mod download istio.io/api@${version} failed"; }
  rmdir "${tmp}"
  file="${dir}/kubernetes/customresourcedefinitions.gen.yaml"
  [[ -f "${file}" ]] || fail "Istio CRDs not found at ${file}"
  log "installing the Istio CRDs (${ISTIO_CRD_GROUPS}) from istio.io/api ${version}"
  # Keep the documents whose spec.group is one of ISTIO_CRD_GROUPS.
  awk -v groups=" ${ISTIO_CRD_GROUPS} " '
    function flush() { if (keep) printf "---\n%s", doc; doc = ""; keep = 0 }
    /^---$/ { flush(); next }
    { doc = doc $0 "\n"; if (substr($0, 1, 9) == "  group: " && index(groups, " " $2 " ")) keep = 1 }
    END { flush() }' "${file}" |
    kc apply --server-side --force-conflicts -f - >"${LOGS}/istio-crds.log" 2>&1 ||
    fail "installing the Istio CRDs failed" istio-crds
}

write_kubeconfig() { # FILE USER CERT KEY
  local file="$1" user="$2" cert="$3" key="$4"
  cat >"${file}" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: cutover-local
  cluster:
    server: ${SERVER}
    certificate-authority-data: $(base64 <"${PKI}/ca.crt" | tr -d '\n')
users:
- name: ${user}
  user:
    client-certificate-data: $(base64 <"${cert}" | tr -d '\n')
    client-key-data: $(base64 <"${key}" | tr -d '\n')
contexts:
- name: cutover-local
  context:
    cluster: cutover-local
    user: ${user}
    namespace: default
current-context: cutover-local
EOF
  chmod 600 "${file}"
}


crds_established() {
  local st
  st="$(kc get crd -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Established")].status}{"\n"}{end}' 2>/dev/null)" &&
    [[ -n "${st}" ]] && ! grep -qv '^True$' <<<"${st}"
}
nodes_ready() {
  [[ "$(kc get nodes -l type=kwok -o jsonpath='{range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\n"}{end}' 2>/dev/null | grep -c '^True$')" == "${KWOK_NODES}" ]]
}
default_sa() { kc -n default get serviceaccount default >/dev/null 2>&1; }

# create_nodes: the fake Nodes that kwok manages (annotation kwok.x-k8s.io/node=fake), untainted,
# labelled type=kwok, with room for hundreds of pods. Pod CIDRs are apart from the node IPs.
create_nodes() {
  local nodes="" i
  for ((i = 0; i < KWOK_NODES; i++)); do
    nodes+="---
apiVersion: v1
kind: Node
metadata:
  name: kwok-node-${i}
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: \"0\"
  labels:
    type: kwok
    kubernetes.io/hostname: kwok-node-${i}
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    node-role.kubernetes.io/agent: \"\"
spec:
  podCIDR: 10.244.${i}.0/24
  podCIDRs: [10.244.${i}.0/24]
status:
  allocatable: {cpu: \"64\", memory: 256Gi, pods: \"1000\", ephemeral-storage: 1Ti}
  capacity: {cpu: \"64\", memory: 256Gi, pods: \"1000\", ephemeral-storage: 1Ti}
  addresses:
  - {type: InternalIP, address: 10.250.0.$((i + 1))}
  - {type: Hostname, address: kwok-node-${i}}
  nodeInfo:
    architecture: amd64
    operatingSystem: linux
    kubeletVersion: fake
    kubeProxyVersion: fake
"
  done
  printf '%s' "${nodes}" | kc apply -f - >/dev/null || fail "creating the kwok nodes failed" kube-apiserver
}

# finish: the fake nodes and the CRDs, then wait until everything works: CRDs Established, nodes
# Ready (kwok), the default ServiceAccount created (kube-controller-manager).
finish() {
  local istio_pid=""
  if ! kc get crd virtualservices.networking.istio.io destinationrules.networking.istio.io >/dev/null 2>&1; then
    install_istio_crds &
    istio_pid=$!
  fi
  create_nodes
  install_project_crds
  if [[ -n "${istio_pid}" ]]; then
    wait "${istio_pid}" || exit 1
  fi

  WAIT_LOGS=(kube-apiserver)
  wait_for 60 "the CRDs to be Established" crds_established
  WAIT_LOGS=(kwok)
  wait_for 60 "${KWOK_NODES} kwok nodes to be Ready" nodes_ready
  WAIT_LOGS=(kube-controller-manager)
  wait_for 60 "the default ServiceAccount (kube-controller-manager)" default_sa

  log "cluster is up at ${SERVER}"
  log "  export KUBECONFIG=${KUBECONFIG_ADMIN}"
  log "  logs: ${LOGS}/; stop: make cluster-down"
}

# ---------------------------------------------------------------------------------------------
# Already running?

for b in "${COMPONENTS[@]}" kubectl; do
  [[ -x "${K8S_BIN}/${b}" ]] || fail "${K8S_BIN}/${b} is missing (make control-plane)"
done

running=1
for c in "${COMPONENTS[@]}"; do alive "${c}" || running=0; done
if [[ "${running}" == 1 ]] && readyz; then
  log "already running at ${SERVER}"
  finish
  exit 0
fi
if compgen -G "${RUN}/*.pid" >/dev/null; then
  log "found a partly running or stale cluster; stopping it first"
  CLUSTER_DIR="${CLUSTER_DIR}" "${here}/cluster-down.sh"
fi

command -v openssl >/dev/null || fail "openssl is needed to create the cluster's certificates"
for p in "${ETCD_PORT}" "${ETCD_PEER_PORT}" "${APISERVER_PORT}" "${KCM_PORT}" "${SCHEDULER_PORT}" "${KWOK_PORT}"; do
  port_in_use "${p}" && fail "port 127.0.0.1:${p} is already in use (override with CUTOVER_*_PORT, see hack/cluster-up.sh)"
done

mkdir -p "${PKI}" "${LOGS}" "${RUN}"

# ---------------------------------------------------------------------------------------------
# PKI: EC P-256 CA, serving certificate, client certificates; RSA service-account key pair.

log "creating certificates"
(
  cd "${PKI}"
  ec() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }
  ec ca.key
  openssl req -x509 -new -key ca.key -sha256 -days 3650 -subj "/CN=cutover-local-ca" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out ca.crt 2>/dev/null
  # sign NAME SUBJECT EXTENSIONS
  sign() {
    ec "$1.key"
    openssl req -new -key "$1.key" -subj "$2" -out "$1.csr" 2>/dev/null
    printf '%s\n' "$3" >"$1.ext"
    openssl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -sha256 -days 3650 \
      -extfile "$1.ext" -out "$1.crt" 2>/dev/null
    rm -f "$1.csr" "$1.ext"
  }
  sign apiserver "/CN=kube-apiserver" "$(printf '%s\n' \
    'basicConstraints=critical,CA:FALSE' 'keyUsage=critical,digitalSignature' \
    'extendedKeyUsage=serverAuth' \
    'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local')"
  client='basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth'
  sign admin "/O=system:masters/CN=cutover-admin" "${client}"
  sign jane "/CN=jane" "${client}"
  # The aggregation layer's client (front proxy); with it kube-apiserver publishes the
  # request-header CA that kube-controller-manager and kube-scheduler look for.
  sign front-proxy-client "/CN=front-proxy-client" "${client}"
  openssl genrsa -out sa.key 2048 2>/dev/null
  openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
  chmod 600 ./*.key
)

write_kubeconfig "${KUBECONFIG_ADMIN}" cutover-admin "${PKI}/admin.crt" "${PKI}/admin.key"
write_kubeconfig "${CLUSTER_DIR}/jane.kubeconfig" jane "${PKI}/jane.crt" "${PKI}/jane.key"

# ---------------------------------------------------------------------------------------------
# etcd and kube-apiserver

log "starting etcd on 127.0.0.1:${ETCD_PORT}"
rm -rf "${CLUSTER_DIR}/etcd"
start etcd \
  --name=cutover \
  --data-dir="${CLUSTER_DIR}/etcd" \
  --listen-client-urls="http://127.0.0.1:${ETCD_PORT}" \
  --advertise-client-urls="http://127.0.0.1:${ETCD_PORT}" \
  --listen-peer-urls="http://127.0.0.1:${ETCD_PEER_PORT}" \
  --initial-advertise-peer-urls="http://127.0.0.1:${ETCD_PEER_PORT}" \
  --initial-cluster="cutover=http://127.0.0.1:${ETCD_PEER_PORT}" \
  --unsafe-no-fsync \
  --log-level=warn

# The audit policy: see the header. Blocking log backend, so an entry is on disk when the
# request is answered.
cat >"${CLUSTER_DIR}/audit-policy.yaml" <<'EOF'
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: None
  namespaces: [kube-node-lease]
- level: Metadata
  verbs: [create, update, patch, delete, deletecollection]
  resources:
  - group: cutover.dev
  - group: apps
    resources: [replicasets]
  - group: ""
    resources: [services, events]
  - group: events.k8s.io
  - group: networking.istio.io
  - group: coordination.k8s.io
    resources: [leases]
- level: None
EOF

log "starting kube-apiserver on ${SERVER}"
start kube-apiserver \
  --etcd-servers="http://127.0.0.1:${ETCD_PORT}" \
  --bind-address=127.0.0.1 \
  --advertise-address=127.0.0.1 \
  --secure-port="${APISERVER_PORT}" \
  --endpoint-reconciler-type=none \
  --tls-cert-file="${PKI}/apiserver.crt" \
  --tls-private-key-file="${PKI}/apiserver.key" \
  --client-ca-file="${PKI}/ca.crt" \
  --requestheader-client-ca-file="${PKI}/ca.crt" \
  --requestheader-allowed-names=front-proxy-client \
  --requestheader-username-headers=X-Remote-User \
  --requestheader-group-headers=X-Remote-Group \
  --requestheader-extra-headers-prefix=X-Remote-Extra- \
  --proxy-client-cert-file="${PKI}/front-proxy-client.crt" \
  --proxy-client-key-file="${PKI}/front-proxy-client.key" \
  --authorization-mode=Node,RBAC \
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \
  --service-account-key-file="${PKI}/sa.pub" \
  --service-account-signing-key-file="${PKI}/sa.key" \
  --service-cluster-ip-range=10.96.0.0/16 \
  --allow-privileged=true \
  --audit-policy-file="${CLUSTER_DIR}/audit-policy.yaml" \
  --audit-log-path="${LOGS}/audit.log" \
  --audit-log-format=json \
  --audit-log-mode=blocking \
  --audit-log-maxsize=200 \
  --profiling=false

WAIT_LOGS=(kube-apiserver etcd)
wait_for 60 "kube-apiserver /readyz" readyz
log "kube-apiserver is ready"

# ---------------------------------------------------------------------------------------------
# kube-controller-manager, kube-scheduler and kwok, once kube-apiserver is ready: started
# beside it, kube-controller-manager exits when its first request is refused (it reads the
# request-header CA at start-up), which happens on a loaded machine.

# --node-monitor-grace-period=2m: the fake nodes stay Ready through the 20 s control-plane
# outages of the e2e fault test (kwok renews their leases again only after client-go's backoff).
log "starting kube-controller-manager (:${KCM_PORT}), kube-scheduler (:${SCHEDULER_PORT}) and kwok"
start kube-controller-manager \
  --kubeconfig="${KUBECONFIG_ADMIN}" \
  --authentication-kubeconfig="${KUBECONFIG_ADMIN}" \
  --authorization-kubeconfig="${KUBECONFIG_ADMIN}" \
  --leader-elect=false \
  --bind-address=127.0.0.1 \
  --secure-port="${KCM_PORT}" \
  --controllers='*' \
  --service-account-private-key-file="${PKI}/sa.key" \
  --root-ca-file="${PKI}/ca.crt" \
  --cluster-name=cutover-local \
  --node-monitor-grace-period=2m \
  --profiling=false

start kube-scheduler \
  --kubeconfig="${KUBECONFIG_ADMIN}" \
  --authentication-kubeconfig="${KUBECONFIG_ADMIN}" \
  --authorization-kubeconfig="${KUBECONFIG_ADMIN}" \
  --leader-elect=false \
  --bind-address=127.0.0.1 \
  --secure-port="${SCHEDULER_PORT}" \
  --profiling=false

# kwok manages only the Nodes annotated kwok.x-k8s.io/node=fake; pods get IPs from --cidr,
# apart from the nodes' own addresses.
start kwok \
  --kubeconfig="${KUBECONFIG_ADMIN}" \
  --config="${root}/hack/kwok/stages.yaml" \
  --manage-all-nodes=false \
  --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
  --node-lease-duration-seconds=40 \
  --cidr=10.244.0.0/16 \
  --node-ip=10.250.0.1 \
  --server-address="127.0.0.1:${KWOK_PORT}"

finish
