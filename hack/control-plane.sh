#!/usr/bin/env bash
# Builds the local control-plane binaries (etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler, kubectl, kwok) from the Go module proxy.
#
# The binaries live in a per-user cache outside the checkout, keyed by their versions, so that a
# fresh clone on a machine that built them once starts at once. A stamp file records a finished
# build; when it matches, this script does nothing. It prints the cache directory on stdout.
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-v1.36.3}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.16}"
KWOK_VERSION="${KWOK_VERSION:-v0.8.0}"

cache_root="${CUTOVER_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/cutover}"
key="k8s-${K8S_VERSION}_etcd-${ETCD_VERSION}_kwok-${KWOK_VERSION}"
dest="${cache_root}/${key}"
stamp="${dest}/.stamp"

log() { echo "control-plane: $*" >&2; }

if [[ -f "${stamp}" && "$(cat "${stamp}")" == "${key}" ]]; then
  echo "${dest}"
  exit 0
fi

mkdir -p "${dest}"
work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT
export GOFLAGS="-mod=mod -buildvcs=false"
export CGO_ENABLED=0

build_etcd() {
  [[ -x "${dest}/etcd" ]] && return 0
  log "building etcd ${ETCD_VERSION}"
  local w="${work}/etcd"
  mkdir -p "${w}"
  (
    cd "${w}"
    go mod init cutover.local/etcd-build >/dev/null 2>&1
    go mod edit -require="go.etcd.io/etcd/server/v3@${ETCD_VERSION}"
    go build -trimpath -o "${dest}/etcd" go.etcd.io/etcd/server/v3
  )
}

build_kubernetes() {
  local missing=0 b
  for b in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
    [[ -x "${dest}/${b}" ]] || missing=1
  done
  [[ "${missing}" == 0 ]] && return 0
  log "building Kubernetes ${K8S_VERSION} (kube-apiserver, kube-controller-manager, kube-scheduler, kubectl)"
  local w="${work}/k8s" staging minor="${K8S_VERSION#v1.}"
  mkdir -p "${w}"
  minor="${minor%%.*}"
  local patch="${K8S_VERSION##*.}"
  (
    cd "${w}"
    go mod init cutover.local/k8s-build >/dev/null 2>&1
    go mod edit -require="k8s.io/kubernetes@${K8S_VERSION}"
    # k8s.io/kubernetes replaces its staging modules with ./staging paths; point each at the
    # published module of the matching version instead.
    gomod="$(go mod download -json "k8s.io/kubernetes@${K8S_VERSION}" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
    staging="$(grep -E '=> \./staging/' "${gomod}" | awk '{print $1}' | sort -u)"
    for m in ${staging}; do
      go mod edit -replace="${m}=${m}@v0.${minor}.${patch}"
    done
    log "replaced $(echo "${staging}" | wc -w) staging modules"
    local ld="" pkg
    for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
      ld+=" -X ${pkg}.gitVersion=${K8S_VERSION} -X ${pkg}.gitMajor=1 -X ${pkg}.gitMinor=${minor}"
      ld+=" -X ${pkg}.gitTreeState=clean -X ${pkg}.buildDate=1970-01-01T00:00:00Z"
    done
    for b in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
      go build -trimpath -ldflags "${ld}" -o "${dest}/${b}" "k8s.io/kubernetes/cmd/${b}"
    done
  )
}

build_kwok() {
  [[ -x "${dest}/kwok" ]] && return 0
  log "building kwok ${KWOK_VERSION}"
  GOFLAGS="" GOBIN="${dest}" go install -trimpath "sigs.k8s.io/kwok/cmd/kwok@${KWOK_VERSION}"
}

build_etcd
build_kubernetes
build_kwok
echo "${key}" >"${stamp}"
log "binaries ready"
echo "${dest}"
