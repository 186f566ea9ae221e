#!/usr/bin/env bash
# Makes a Docker engine and a Node base image available on this machine, where no image
# registry is reachable. Idempotent: safe to run at the start of every CI run or session.
#   .ci/docker-up.sh            -> prints the local base image name on stdout
# Afterwards: docker build/run work; use the printed image as the build's base image.
set -euo pipefail
IMAGE=${REYNA_LOCAL_BASE_IMAGE:-reyna-local/node:20}
log() { echo "docker-up: $*" >&2; }

if ! command -v dockerd >/dev/null 2>&1; then
  log "installing docker.io"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io) >&2
fi
if ! docker info >/dev/null 2>&1; then
  log "starting dockerd"
  # setsid: the daemon must outlive the process group of whoever started it
  setsid dockerd >/tmp/dockerd.log 2>&1 </dev/null &
  for _ in $(seq 1 150); do docker info >/dev/null 2>&1 && break; sleep 0.2; done
  docker info >/dev/null 2>&1 || { log "dockerd did not start; see /tmp/dockerd.log"; tail -5 /tmp/dockerd.log >&2; exit 1; }
fi

if ! docker image inspect "$IMAGE" >/dev/null 2>&1; then
  log "building $IMAGE from this machine's node"
  R=$(mktemp -d /tmp/rootfs.XXXXXX)
  trap 'rm -rf "$R" "$R.tar"' EXIT
  mkdir -p "$R"/usr/bin "$R"/usr/lib "$R"/usr/lib64 "$R"/tmp "$R"/etc "$R"/root "$R"/proc "$R"/sys "$R"/dev "$R"/app
  ln -s usr/bin "$R"/bin; ln -s usr/lib "$R"/lib; ln -s usr/lib64 "$R"/lib64; ln -s usr/bin "$R"/sbin
  chmod 1777 "$R"/tmp
  put() { local d; d=$(readlink -f "$(dirname "$1")"); mkdir -p "$R$d"; cp -L "$1" "$R$d/$(basename "$1")"; }
  node_bin=$(readlink -f "$(command -v node)")
  for b in "$node_bin" /usr/bin/dash /usr/bin/ls /usr/bin/cat /usr/bin/mkdir /usr/bin/rm /usr/bin/env /usr/bin/cp /usr/bin/chown; do
    [ -f "$b" ] || continue
    put "$b"
    for l in $(ldd "$b" | awk '/=>/ {print $3} $1 ~ /^\// {print $1}'); do put "$l"; done
  done
  [ "$node_bin" = /usr/bin/node ] || ln -sf "$node_bin" "$R"/usr/bin/node
  # whole C/C++ runtimes, so native addons (esbuild, rollup, workerd) can dlopen what they need
  for f in $(dpkg -L libc6 libgcc-s1 libstdc++6 | grep -E '\.so'); do [ -f "$f" ] && put "$f"; done
  npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
  mkdir -p "$R"/usr/lib/node_modules && cp -a "$npm_dir" "$R"/usr/lib/node_modules/npm
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$R"/usr/bin/npm
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$R"/usr/bin/npx
  ln -s dash "$R"/usr/bin/sh
  printf 'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000::/app:/bin/sh\n' > "$R"/etc/passwd
  printf 'root:x:0:\nnode:x:1000:\n' > "$R"/etc/group
  mkdir -p "$R"/etc/ssl/certs && cp /etc/ssl/certs/ca-certificates.crt "$R"/etc/ssl/certs/
  tar -C "$R" --numeric-owner -cf "$R.tar" .
  docker import -c 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
    -c 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' -c 'WORKDIR /app' \
    "$R.tar" "$IMAGE" >/dev/null
fi
echo "$IMAGE"
