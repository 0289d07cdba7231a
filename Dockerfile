# opsdojo server image. Base images are build arguments so it builds both
# online (public images) and offline (local stand-ins made by
# `opsdojo images build --offline`). Build the front end first (make ui).
ARG GO_IMAGE=golang:1.26-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${GO_IMAGE} AS build
# PEM text of extra CAs for a TLS-intercepting proxy; empty when not needed.
ARG EXTRA_CA_CERTS=""
RUN if [ -n "$EXTRA_CA_CERTS" ]; then printf '%s\n' "$EXTRA_CA_CERTS" > /usr/local/share/ca-certificates/opsdojo-extra.crt && update-ca-certificates; fi
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o /out/opsdojo ./cmd/opsdojo

FROM ${RUNTIME_IMAGE}
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /data opsdojo \
 && mkdir -p /data && chown opsdojo:opsdojo /data
COPY --from=build /out/opsdojo /usr/local/bin/opsdojo
COPY library/challenges /opt/opsdojo/challenges
ENV OPSDOJO_DATA_DIR=/data OPSDOJO_ADDR=0.0.0.0:8080 OPSDOJO_CHALLENGES=/opt/opsdojo/challenges OPSDOJO_LOG_FORMAT=json
USER opsdojo
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s CMD ["opsdojo", "healthcheck", "--health-url", "http://127.0.0.1:8080/healthz"]
ENTRYPOINT ["opsdojo"]
CMD ["serve"]
