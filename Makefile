# Cutover's Makefile. `make help` lists the targets.
#
# Everything the tests need is built from the Go module proxy: the tools below are pinned and
# installed into bin/, and the control-plane binaries (etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler, kubectl, kwok) are built once by
# hack/control-plane.sh into a per-user cache keyed by their versions.

# The manager's image: the one of config/manager/manager.yaml and of charts/cutover/values.yaml
# (keep the three alike; dist/install.yaml is built with it).
IMG ?= cutover:latest
# Where the tools and the control plane's link go. Defined up here because targets above the
# Dependencies section name it as a prerequisite, which make expands as it reads them.
LOCALBIN ?= $(shell pwd)/bin
SHELL = /usr/bin/env bash -o pipefail
.SHELLFLAGS = -ec
export GOTOOLCHAIN = local

.PHONY: all
all: build

##@ General

.PHONY: help
help: ## Display this help.
	@awk 'BEGIN {FS = ":.*##"; printf "\nUsage:\n  make \033[36m<target>\033[0m\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-18s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) } ' $(MAKEFILE_LIST)

##@ Development

.PHONY: manifests
manifests: controller-gen ## Generate the CRD and the ClusterRole from markers, and copy them (and the other RBAC rules) into the Helm chart.
	"$(CONTROLLER_GEN)" rbac:roleName=manager-role crd:generateEmbeddedObjectMeta=true paths="./..." output:crd:artifacts:config=config/crd/bases
	hack/sync-chart.sh

.PHONY: generate
generate: controller-gen ## Generate DeepCopy methods.
	"$(CONTROLLER_GEN)" object:headerFile="hack/boilerplate.go.txt" paths="./..."

.PHONY: api-docs
api-docs: ## Write docs/api-reference.md from the Go types of api/v1alpha1.
	go run ./hack/apiref -api api/v1alpha1 -out docs/api-reference.md

.PHONY: fmt
fmt: ## Run go fmt against code.
	go fmt ./...

.PHONY: vet
vet: ## Run go vet against code (including the e2e build tag).
	go vet ./...
	go vet -tags=e2e ./test/e2e/...

.PHONY: tidy
tidy: ## Tidy go.mod and go.sum.
	go mod tidy

.PHONY: verify
verify: manifests generate fmt tidy build-installer api-docs ## Regenerate everything (dist/install.yaml too), then fail on any diff.
	@git diff --exit-code || { echo "make verify: generated files are out of date; run 'make manifests generate fmt tidy build-installer api-docs' and commit" >&2; exit 1; }
	@test -z "$$(git status --porcelain --untracked-files=all -- api charts config controllers dist internal)" || { git status --porcelain; echo "make verify: untracked generated files" >&2; exit 1; }

.PHONY: lint
lint: golangci-lint ## Run golangci-lint.
	"$(GOLANGCI_LINT)" run ./...

##@ Test

.PHONY: test
test: manifests generate fmt vet test-unit test-fuzz test-integration test-e2e ## Run all tiers: unit, fuzz (bounded), integration (envtest) and e2e (local control plane).

.PHONY: test-unit
test-unit: ## Unit tests: pure packages and controllers with fakes; no API server. test/install renders config/default and the Helm chart and compares them.
	go test ./api/... ./internal/... ./controllers/... ./test/utils/... ./test/install/... ./test/imagebuild/... ./test/gitops/... ./test/bench/... ./hack/demo/...

FUZZTIME ?= 10s
.PHONY: test-fuzz
test-fuzz: ## Run each fuzz target for FUZZTIME (default 10s); the corpus in testdata/fuzz also runs in test-unit.
	go test ./internal/plan -run '^$$' -fuzz '^FuzzCompute$$' -fuzztime $(FUZZTIME)
	go test ./internal/image -run '^$$' -fuzz '^FuzzParseReference$$' -fuzztime $(FUZZTIME)
	go test ./internal/traffic/istio -run '^$$' -fuzz '^FuzzPlan$$' -fuzztime $(FUZZTIME)

.PHONY: test-integration
test-integration: control-plane ## Integration tests on a real kube-apiserver and etcd (envtest).
	KUBEBUILDER_ASSETS="$(K8S_BIN)" go test ./test/integration/... ./internal/traffic/... ./controllers/... -timeout 20m

.PHONY: test-e2e
test-e2e: control-plane build ## End-to-end tests on the local control plane (started and stopped here).
	@trap '$(MAKE) --no-print-directory cluster-down' EXIT; \
	$(MAKE) --no-print-directory cluster-up; \
	CUTOVER_KUBECONFIG="$(CLUSTER_DIR)/kubeconfig" CUTOVER_CLUSTER_DIR="$(CLUSTER_DIR)" CUTOVER_BIN="$(LOCALBIN)" K8S_BIN="$(K8S_BIN)" \
		go test -tags=e2e ./test/e2e/... -v -timeout 30m

.PHONY: bench
bench: control-plane ## Benchmarks: on envtest, 200 Rollouts (in-process manager), 200 Rollouts with and without Istio and 1,000 Istio Rollouts (the manager binary); then 200 Rollouts with and without Istio on the local control plane with kwok pods (started and stopped here).
	KUBEBUILDER_ASSETS="$(K8S_BIN)" CUTOVER_BENCH_SCALE=200 CUTOVER_BENCH_ROUTING=istio,none \
		go test ./test/bench/... -run '^$$' -bench 'Canary200|Scale' -benchtime 1x -timeout 30m
	KUBEBUILDER_ASSETS="$(K8S_BIN)" CUTOVER_BENCH_SCALE=1000 \
		go test ./test/bench/... -run '^$$' -bench Scale -benchtime 1x -timeout 30m
	@trap '$(MAKE) --no-print-directory cluster-down' EXIT; \
	$(MAKE) --no-print-directory cluster-up; \
	CUTOVER_BENCH_KUBECONFIG="$(CLUSTER_DIR)/kubeconfig" CUTOVER_BENCH_SCALE=200 CUTOVER_BENCH_ROUTING=istio,none \
		go test ./test/bench/... -run '^$$' -bench Scale -benchtime 1x -timeout 30m

.PHONY: bench-scale
bench-scale: control-plane ## The scale benchmark at 1,000 and 5,000 Rollouts (about 40 minutes on 2 cores); CUTOVER_BENCH_PROFILES=DIR saves profiles.
	CUTOVER_BENCH_SCALE=1000,5000 KUBEBUILDER_ASSETS="$(K8S_BIN)" go test ./test/bench/... -run '^$$' -bench Scale -benchtime 1x -timeout 120m

##@ Local control plane

.PHONY: control-plane
control-plane: $(LOCALBIN) ## Build (once, cached) etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl and kwok.
	@ln -sfn "$$(hack/control-plane.sh)" "$(LOCALBIN)/k8s"

.PHONY: cluster-up
cluster-up: control-plane kustomize ## Start the local control plane on 127.0.0.1 and install the CRDs.
	K8S_BIN="$(K8S_BIN)" CLUSTER_DIR="$(CLUSTER_DIR)" KUSTOMIZE="$(KUSTOMIZE)" hack/cluster-up.sh

.PHONY: cluster-down
cluster-down: ## Stop the local control plane (and the manager and registry of make demo).
	CLUSTER_DIR="$(CLUSTER_DIR)" hack/cluster-down.sh

##@ Build

.PHONY: build
build: manifests generate fmt vet ## Build the manager binary and the kubectl plugin (bin/cutover, bin/kubectl-cutover).
	go build -o bin/cutover .
	go build -o bin/kubectl-cutover ./cmd/kubectl-cutover

## Where install-plugin puts kubectl-cutover: a directory on PATH.
PLUGIN_DIR ?= $(shell go env GOPATH)/bin

.PHONY: install-plugin
install-plugin: ## Build the kubectl plugin and copy it to PLUGIN_DIR (default $(go env GOPATH)/bin), so that `kubectl cutover` works.
	go build -o bin/kubectl-cutover ./cmd/kubectl-cutover
	mkdir -p "$(PLUGIN_DIR)"
	install -m 0755 bin/kubectl-cutover "$(PLUGIN_DIR)/kubectl-cutover"
	@echo "installed $(PLUGIN_DIR)/kubectl-cutover; try: kubectl cutover --help"

.PHONY: run
run: manifests generate fmt vet ## Run the manager against the current kubeconfig.
	go run . --leader-elect=false

.PHONY: demo
demo: build cluster-up ## Local control plane, registry and manager; a canary of v2 promoted, a bad v3 rolled back by its gate (DEMO_NONINTERACTIVE=1: no pauses).
	K8S_BIN="$(K8S_BIN)" CLUSTER_DIR="$(CLUSTER_DIR)" hack/demo.sh

.PHONY: docker-build
docker-build: ## Build the manager image (needs a container engine).
	docker build -t ${IMG} .

.PHONY: build-installer
build-installer: manifests generate kustomize ## Write dist/install.yaml (config/default with the image IMG). The committed one uses the default IMG.
	mkdir -p dist
	@# The image is set in a throw-away overlay of config/default, so the tree is never edited.
	@overlay="$$(mktemp -d "$(LOCALBIN)/installer.XXXXXX")"; trap 'rm -rf "$$overlay"' EXIT; \
	printf 'resources:\n- %s\n' "$$(realpath --relative-to="$$overlay" config/default)" >"$$overlay/kustomization.yaml"; \
	(cd "$$overlay" && "$(KUSTOMIZE)" edit set image cutover=${IMG}); \
	"$(KUSTOMIZE)" build "$$overlay" > dist/install.yaml

##@ Dependencies

$(LOCALBIN):
	mkdir -p "$(LOCALBIN)"

## The control-plane binaries (see hack/control-plane.sh) and the running cluster's state.
K8S_BIN ?= $(LOCALBIN)/k8s
CLUSTER_DIR ?= $(LOCALBIN)/cluster

KUSTOMIZE ?= $(LOCALBIN)/kustomize
CONTROLLER_GEN ?= $(LOCALBIN)/controller-gen
GOLANGCI_LINT = $(LOCALBIN)/golangci-lint

KUSTOMIZE_VERSION ?= v5.8.2
CONTROLLER_TOOLS_VERSION ?= v0.23.0
GOLANGCI_LINT_VERSION ?= v2.15.0

.PHONY: kustomize
kustomize: $(KUSTOMIZE) ## Install kustomize locally if necessary.
$(KUSTOMIZE): $(LOCALBIN)
	$(call go-install-tool,$(KUSTOMIZE),sigs.k8s.io/kustomize/kustomize/v5,$(KUSTOMIZE_VERSION))

.PHONY: controller-gen
controller-gen: $(CONTROLLER_GEN) ## Install controller-gen locally if necessary.
$(CONTROLLER_GEN): $(LOCALBIN)
	$(call go-install-tool,$(CONTROLLER_GEN),sigs.k8s.io/controller-tools/cmd/controller-gen,$(CONTROLLER_TOOLS_VERSION))

.PHONY: golangci-lint
golangci-lint: $(GOLANGCI_LINT) ## Install golangci-lint locally if necessary.
$(GOLANGCI_LINT): $(LOCALBIN)
	$(call go-install-tool,$(GOLANGCI_LINT),github.com/golangci/golangci-lint/v2/cmd/golangci-lint,$(GOLANGCI_LINT_VERSION))

# go-install-tool installs a pinned tool into bin/ as <name>-<version> and symlinks <name> to it.
# $1 - target path with name of binary, $2 - package, $3 - version
define go-install-tool
@[ -f "$(1)-$(3)" ] && [ "$$(readlink -- "$(1)" 2>/dev/null)" = "$(1)-$(3)" ] || { \
set -e; \
package=$(2)@$(3) ;\
echo "Installing $${package}" ;\
rm -f "$(1)" ;\
GOBIN="$(LOCALBIN)" go install $${package} ;\
mv "$(LOCALBIN)/$$(basename "$(1)")" "$(1)-$(3)" ;\
} ;\
ln -sf "$$(realpath "$(1)-$(3)")" "$(1)"
endef
