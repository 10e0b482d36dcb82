# mtail of the watcher's remote-write door (docker-compose.watcher.yml, door-mtail-a and -b): Debian 12's own
# package at the exact version tests/integration/test_watcher_door.py runs, since no upstream image of Debian's
# 3.0.0~rc50 can be named. The flags are door/mtail.args' (the compose services' command).
# The base pinned to a point release, as the exporter's image is; the test holds both equal to the machine's.
FROM debian:12.11-slim

RUN apt-get update \
 && apt-get install -y --no-install-recommends mtail=3.0.0~rc50-1+b6 \
 && rm -rf /var/lib/apt/lists/*

# It reads the log and serves metrics, nothing more: nobody, and a read-only root filesystem in compose.
USER 65534:65534
EXPOSE 3903
ENTRYPOINT ["/usr/bin/mtail"]
