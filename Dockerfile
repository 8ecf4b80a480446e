# The Cutover manager image: the root main.go, built into a static binary, on a distroless base
# pinned by digest, run as a numeric non-root user (65532, "nonroot" in distroless).
#
# CI has no container engine; test/imagebuild parses this file with BuildKit's parser, carries
# out the build stage and checks the final stage, so a Dockerfile that cannot build fails CI.
# Keep to what that check understands: ARG, ENV, WORKDIR, COPY and shell-form RUN in the build
# stage; WORKDIR, COPY --from, USER and an exec-form ENTRYPOINT in the final stage.

# Build the manager binary
FROM golang:1.26 AS builder
ARG TARGETOS
ARG TARGETARCH

WORKDIR /workspace
# The module files first, so the downloaded modules stay cached while the source changes.
COPY go.mod go.mod
COPY go.sum go.sum
RUN go mod download

# The Go source (.dockerignore keeps only *.go, without tests, and the module files).
COPY . .

# GOARCH has no default, so the binary is built for the platform the image is built for.
RUN CGO_ENABLED=0 GOOS=${TARGETOS:-linux} GOARCH=${TARGETARCH} go build -trimpath -ldflags="-s -w" -o manager .

# The static distroless base: no shell, no package manager. Update the digest deliberately (the
# tag it was taken from is gcr.io/distroless/static:nonroot).
FROM gcr.io/distroless/static:nonroot@sha256:e2e927ec666bae08560abb3c55d0659eceabb657f56b6782ab500a9fc7f555e3
WORKDIR /
COPY --from=builder /workspace/manager .
USER 65532:65532

ENTRYPOINT ["/manager"]
