#!/usr/bin/env bash
# sealtrail test setup, from the shared s3-ceph recipe (unchanged apart from this line).
# stop-s3.sh DATA_DIR -- stops radosgw, the OSD and the mon started by start-s3.sh, by PID file.
set -uo pipefail
D=$(realpath -m "${1:?usage: stop-s3.sh DATA_DIR}")
for n in client.rgw.a osd.0 mon.a; do
  f="$D/run/$n.pid"; [ -s "$f" ] || continue
  p=$(cat "$f")
  mine() { grep -qs "$D/ceph.conf" "/proc/$p/cmdline"; }   # false once gone or a zombie
  if mine; then
    kill "$p"
    for _ in $(seq 100); do mine || break; sleep 0.1; done
    mine && kill -9 "$p"
    echo "stopped $n (pid $p)"
  fi
  rm -f "$f"
done
