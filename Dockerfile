# The swarmtopo image: one static binary in an empty image. `make image` compiles the binary
# outside and copies it in, so the build pulls no base image and needs no registry: it builds
# on any engine, including the lab's.
FROM scratch
COPY bin/swarmtopo-static /swarmtopo
ENTRYPOINT ["/swarmtopo"]
CMD ["run", "-f", "/etc/swarmtopo/topology.yaml", "--metrics-addr", "0.0.0.0:9323", "--log-format", "json"]
# scratch has no curl: the binary probes its own /healthz, on 127.0.0.1:9323 unless
# SWARMTOPO_HEALTHCHECK_ADDR and SWARMTOPO_HEALTHCHECK_HTTP_CONFIG say otherwise (a secured
# endpoint); no flags here, so that those variables can change it.
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
    CMD ["/swarmtopo", "healthcheck"]
