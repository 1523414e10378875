# portcullis: multi-stage build, small non-root runtime image, configured by
# PORTCULLIS_* environment variables (see README "Container").
#   docker build -t portcullis .
#   docker run -p 8443:8443 -v portcullis-data:/data -v ./certs:/certs:ro \
#     -e PORTCULLIS_ROUTES='[{prefix="/", upstream="http://app:3000"}]' \
#     -e PORTCULLIS_AUTH__USERS='[{username="alice", password_hash="…"}]' portcullis
FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY benches ./benches
COPY examples ./examples
RUN cargo build --release --locked --bin portcullis \
 && strip target/release/portcullis \
 && mkdir -p /out/data && chown 65532:65532 /out/data

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/portcullis /usr/local/bin/portcullis
# Signing keys, the embedded session store and generated files: a volume
# owned by the nonroot user (65532), so a restart logs nobody out.
COPY --from=build --chown=65532:65532 /out/data /data
VOLUME ["/data"]
WORKDIR /data
# No configuration file: every setting has a PORTCULLIS_* variable. Mount
# one and set PORTCULLIS_CONFIG to use a file instead.
ENV PORTCULLIS_SERVER__LISTEN=0.0.0.0:8443 \
    PORTCULLIS_SERVER__DATA_DIR=/data \
    PORTCULLIS_TLS__CERT=/certs/cert.pem \
    PORTCULLIS_TLS__KEY=/certs/key.pem \
    PORTCULLIS_ADMIN__LISTEN=127.0.0.1:9090 \
    PORTCULLIS_LOG__FORMAT=json
EXPOSE 8443
# Probes the admin listener's /health/ready; no shell or curl in the image.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["/usr/local/bin/portcullis", "health", "--url", "http://127.0.0.1:9090/health/ready"]
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/portcullis"]
CMD ["serve"]
