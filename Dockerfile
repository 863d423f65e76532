# Container image of sessionbridge: a static binary on an empty base, run as
# a non-root user, with CA certificates, a data volume and a health check.
#
#   docker build -t sessionbridge .
#   docker run -p 8080:8080 -v sb-data:/data -e SESSIONBRIDGE_CONFIG=/etc/sessionbridge.yaml \
#     -v ./sessionbridge.yaml:/etc/sessionbridge.yaml:ro -e SB_SESSION_KEY -e SB_TOKEN_KEY sessionbridge
#
# The final stage takes its files from the stage named by BINARY_FROM: "build"
# (default) compiles them here; "prebuilt" takes a rootfs/ folder from the
# build context holding rootfs/sessionbridge, rootfs/data/ and
# rootfs/etc/ssl/certs/ca-certificates.crt (CI builds the image that way with
# podman, from the binary it already built, without pulling any image).
ARG BINARY_FROM=build

FROM docker.io/library/golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=""
RUN mkdir -p /rootfs/data /rootfs/etc/ssl/certs \
 && cp /etc/ssl/certs/ca-certificates.crt /rootfs/etc/ssl/certs/ \
 && CGO_ENABLED=0 go build -trimpath -buildvcs=false \
      -ldflags "-s -w -X github.com/sessionbridge/sessionbridge/internal/version.version=${VERSION}" \
      -o /rootfs/sessionbridge ./cmd/sessionbridge

FROM scratch AS prebuilt
COPY rootfs/ /rootfs/

FROM ${BINARY_FROM} AS binary

FROM scratch
COPY --from=binary /rootfs/etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=binary /rootfs/sessionbridge /sessionbridge
COPY --from=binary --chown=65532:65532 /rootfs/data /data
# A numeric user: the image has no /etc/passwd. 65532 is "nonroot" in distroless.
USER 65532:65532
WORKDIR /data
VOLUME /data
# Public listener (set listen: 0.0.0.0:8080) and the ops listener (ops.listen: 0.0.0.0:9091).
EXPOSE 8080 9091
# No shell or curl here: the binary probes its own /healthz (ops.listen when
# set, else listen, read from SESSIONBRIDGE_CONFIG).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 CMD ["/sessionbridge", "health"]
ENTRYPOINT ["/sessionbridge"]
CMD ["serve"]
