#!/usr/bin/env bash
# sealtrail test setup, adapted from the shared s3-ceph recipe. Started by test/setup/s3/server.ts
# (ensureS3); runnable by hand too: test/setup/s3/start-s3.sh /tmp/sealtrail-ceph
# Changes from the recipe: a lock file next to DATA_DIR serialises concurrent starts (test files
# run in parallel processes), and DATA_DIR's parent is created.
# start-s3.sh DATA_DIR -- single-node Ceph (1 mon, 1 bluestore OSD in a sparse file, no mgr)
# + RADOS Gateway (S3, Object Lock) on 127.0.0.1. Idempotent: re-running with a live server
# only prints the endpoint; re-running after stop-s3.sh restarts the same cluster and data.
# Env: S3_PORT (7480) CEPH_MON_PORT (3300) CEPH_OSD_STORE (bluestore|memstore; memstore is
# RAM-only and wiped on every start) CEPH_OSD_SIZE_GB (10) S3_ACCESS_KEY S3_SECRET_KEY.
set -euo pipefail
D=$(realpath -m "${1:?usage: start-s3.sh DATA_DIR}")
PORT=${S3_PORT:-7480} MON_PORT=${CEPH_MON_PORT:-3300} STORE=${CEPH_OSD_STORE:-bluestore}
AK=${S3_ACCESS_KEY:-TESTACCESSKEY0000000} SK=${S3_SECRET_KEY:-testsecretkey0000000000000000000000000000}
EP=http://127.0.0.1:$PORT C="-c $D/ceph.conf"
mkdir -p "$(dirname "$D")"
exec 9>"$D.lock"; flock 9   # released when this script exits; daemons get 9>&- so they do not hold it

for b in radosgw radosgw-admin ceph-osd ceph-mon ceph curl; do command -v $b >/dev/null || MISSING=1; done
if [ -n "${MISSING:-}" ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    ceph-mon ceph-osd radosgw ceph-common curl util-linux >/dev/null
fi
alive() { [ -s "$D/run/$1.pid" ] && grep -qs "$D/ceph.conf" "/proc/$(cat "$D/run/$1.pid")/cmdline"; }
answers() { [ "$(curl -s -o /dev/null -m 2 -w '%{http_code}' "$EP/" || true)" = 200 ]; }
rgw_ready() { alive client.rgw.a && answers; }
need_port() { if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then echo "port $1 already in use" >&2; exit 1; fi; }
report() { echo "S3_ENDPOINT=$EP"; echo "S3_ACCESS_KEY=$AK"; echo "S3_SECRET_KEY=$SK"; echo "S3_REGION=us-east-1"; }
wait_for() { # seconds, description, command...
  local n=$(( $1 * 5 )) what=$2; shift 2
  until "$@" >/dev/null 2>&1; do n=$((n-1)); [ $n -gt 0 ] || { echo "timeout: $what (logs: $D/log)" >&2; exit 1; }; sleep 0.2; done
}
if rgw_ready; then report; exit 0; fi
if [ -d "$D" ] && [ -n "$(ls -A "$D")" ] && [ ! -f "$D/ceph.conf" ]; then
  echo "refusing: $D is not empty and is not a start-s3.sh data dir" >&2; exit 1
fi

if [ "$STORE" = memstore ] || [ ! -f "$D/.initialized" ]; then   # fresh cluster
  for n in client.rgw.a osd.0 mon.a; do alive $n && kill "$(cat "$D/run/$n.pid")"; done
  for n in client.rgw.a osd.0 mon.a; do while alive $n; do sleep 0.2; done; done
  need_port "$MON_PORT"; need_port "$PORT"
  rm -rf "$D"; mkdir -p "$D"/{mon/a,osd/0,run,log,rgw,crash}
  FSID=$(cat /proc/sys/kernel/random/uuid)
  cat > "$D/ceph.conf" <<EOF
[global]
fsid = $FSID
mon_host = v2:127.0.0.1:$MON_PORT
public_addr = 127.0.0.1
cluster_addr = 127.0.0.1
ms_bind_msgr1 = false
auth_cluster_required = none
auth_service_required = none
auth_client_required = none
ms_mon_client_mode = crc
ms_client_mode = crc
client_mount_timeout = 30
run_dir = $D/run
crash_dir = $D/crash
admin_socket = $D/run/\$name.asok
pid_file = $D/run/\$name.pid
log_file = $D/log/\$name.log
mon_cluster_log_file = $D/log/cluster.log
osd_pool_default_size = 1
osd_pool_default_min_size = 1
osd_pool_default_pg_num = 8
osd_pool_default_pgp_num = 8
osd_pool_default_pg_autoscale_mode = off
mon_allow_pool_size_one = true
mon_warn_on_pool_no_redundancy = false
mon_warn_on_insecure_global_id_reclaim_allowed = false
osd_crush_chooseleaf_type = 0
paxos_propose_interval = 0.05
[mon]
mon_data = $D/mon/\$id
[osd]
osd_data = $D/osd/\$id
osd_objectstore = $STORE
osd_crush_initial_weight = 1
osd_memory_target = 1073741824
memstore_device_bytes = 4294967296
bluestore_block_create = true
bluestore_block_size = $(( ${CEPH_OSD_SIZE_GB:-10} * 1024 * 1024 * 1024 ))
bluestore_fsck_on_mkfs = false
[client.rgw.a]
rgw_frontends = beast endpoint=127.0.0.1:$PORT
rgw_data = $D/rgw
EOF
  monmaptool --create --fsid "$FSID" --addv a "[v2:127.0.0.1:$MON_PORT]" "$D/monmap" >/dev/null
  ceph-mon $C --mkfs -i a --monmap "$D/monmap" >>"$D/log/mkfs.log" 2>&1
  ceph-mon $C -i a 9>&-
  OSD_UUID=$(cat /proc/sys/kernel/random/uuid)
  OSD_ID=$(timeout 60 ceph $C osd new "$OSD_UUID")
  ceph-osd $C -i "$OSD_ID" --mkfs --osd-uuid "$OSD_UUID" >>"$D/log/mkfs.log" 2>&1
  ceph-osd $C -i "$OSD_ID" 2>>"$D/log/osd-stderr.log" 9>&-
  wait_for 60 "osd up" sh -c "timeout 5 ceph $C osd dump 2>/dev/null | grep -q '^osd.0 up'"
  timeout 60 radosgw-admin $C user create --uid=test --display-name=test \
    --access-key="$AK" --secret-key="$SK" >/dev/null 2>>"$D/log/radosgw-admin.log"
  touch "$D/.initialized"
else                                                                 # restart existing cluster
  alive mon.a || { need_port "$MON_PORT"; ceph-mon $C -i a 9>&-; }
  alive osd.0 || ceph-osd $C -i 0 2>>"$D/log/osd-stderr.log" 9>&-
  wait_for 60 "osd up" sh -c "timeout 5 ceph $C osd dump 2>/dev/null | grep -q '^osd.0 up'"
fi
alive client.rgw.a || { need_port "$PORT"; radosgw $C -n client.rgw.a 9>&-; }
wait_for 120 "radosgw on $EP" rgw_ready
report
