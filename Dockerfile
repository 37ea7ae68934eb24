# cnsec as a container: `docker run --rm -v "$PWD:/src:ro" cnsec assess /src`
# Two stages: the wheel is built in the first, only it is installed in the second (no compiler, no
# sources); the image runs as an unprivileged user with a read-only-friendly layout.
FROM python:3.12-slim-bookworm AS build
WORKDIR /build
COPY pyproject.toml README.md ./
COPY src ./src
RUN python -m pip install --no-cache-dir build==1.2.2 \
 && python -m build --wheel --outdir /wheels .

FROM python:3.12-slim-bookworm
LABEL org.opencontainers.image.title="cnsec" \
      org.opencontainers.image.description="Cloud-native security toolkit: assess, identity & access, data security, detect & respond" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /wheels /wheels
RUN python -m pip install --no-cache-dir /wheels/*.whl \
 && rm -rf /wheels \
 && useradd --uid 10001 --create-home --shell /usr/sbin/nologin cnsec
USER 10001:10001
WORKDIR /src
HEALTHCHECK NONE
ENTRYPOINT ["cnsec"]
CMD ["--help"]
