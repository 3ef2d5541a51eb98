#!/usr/bin/env bash
# The native helpers' tests rebuild native/*.c: installs gcc (Debian's, as on the
# machine that built the shipped binaries) with apt-get when there is no C compiler. Root only.
set -euo pipefail
command -v "${CC:-cc}" >/dev/null && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "ensure-cc: no C compiler (${CC:-cc}) and not root to install gcc" >&2; exit 1
fi
echo "ensure-cc: installing gcc" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq --no-install-recommends gcc libc6-dev >&2
