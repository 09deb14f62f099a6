# tracecomb: one binary, OTLP (4317 gRPC, 4318 HTTP), the X-Ray daemon door
# (2000 udp+tcp) and the web UI (8080). DuckDB is linked with cgo, so the
# build stage has a C/C++ toolchain (the golang image ships gcc and g++).
#   docker build -t tracecomb .
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=1 go build -trimpath -ldflags="-s -w" -o /out/tracecomb ./cmd/tracecomb

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libstdc++6 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /data tracecomb \
 && mkdir -p /data && chown tracecomb /data
COPY --from=build /out/tracecomb /usr/local/bin/tracecomb
USER tracecomb
VOLUME /data
EXPOSE 4317 4318 2000/udp 2000/tcp 8080
ENTRYPOINT ["tracecomb"]
# In a container every door listens on all interfaces; the UI then asks for
# a key to log in.
CMD ["serve", "--data-dir", "/data", \
     "--otlp-grpc-addr", "0.0.0.0:4317", "--http-addr", "0.0.0.0:4318", \
     "--xray-addr", "0.0.0.0:2000", "--ui-addr", "0.0.0.0:8080"]
