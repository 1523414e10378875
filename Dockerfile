# portcullis: multi-stage build, small non-root runtime image.
#   docker build -t portcullis .
#   docker run -p 8443:8443 -v portcullis-data:/data -v ./certs:/certs:ro \
#     -v ./users.toml:/config/users.toml:ro \
#     -e PORTCULLIS_ROUTES='[{prefix="/", upstream="http://app:3000"}]' portcullis
FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY examples ./examples
RUN cargo build --release --locked --bin portcullis \
 && strip target/release/portcullis

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/portcullis /usr/local/bin/portcullis
COPY config/portcullis.toml /etc/portcullis/portcullis.toml
# Keys, the session store and generated files live on a volume.
VOLUME ["/data"]
ENV PORTCULLIS_CONFIG=/etc/portcullis/portcullis.toml \
    PORTCULLIS_SERVER__DATA_DIR=/data \
    PORTCULLIS_TLS__CERT=/certs/cert.pem \
    PORTCULLIS_TLS__KEY=/certs/key.pem \
    PORTCULLIS_AUTH__USERS_FILE=/config/users.toml
EXPOSE 8443
# Probes the admin listener; no shell or curl in the image.
HEALTHCHECK --interval=10s --timeout=3s --retries=3 CMD ["/usr/local/bin/portcullis", "health"]
USER nonroot:nonroot
ENTRYPOINT ["/usr/local/bin/portcullis"]
CMD ["serve"]
