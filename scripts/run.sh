#!/usr/bin/env bash
# Starts the cluster locally: Redis with AOF under .data/, then the four services, the ECS gateway and the console on
# loopback ports; waits until every health check passes, then starts again any process that exits.
# Ctrl-C stops everything it started.
# The processes it started are listed in $DATA/pids ("name pid" per line).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

# Overridable, e.g. to run a second cluster beside the first: GI_DATA, REDIS_PORT, GI_PORT_BASE.
DATA="${GI_DATA:-$ROOT/.data}"
REDIS_PORT="${REDIS_PORT:-6390}"
BASE="${GI_PORT_BASE:-5100}"
declare -A PORTS=([catalog]=$((BASE + 1)) [transfer]=$((BASE + 2)) [sharing]=$((BASE + 3)) [kms]=$((BASE + 4)) [gateway]=$((BASE + 6)) [console]=$((BASE + 11)))
ECS_PORT=$((BASE + 5))
CONSOLE_PORT=$((BASE + 10))
# The OSS endpoint: plain HTTP on BASE+13; HTTPS too when GI_OSS_CERT and GI_OSS_KEY name a PEM certificate and key (port GI_OSS_HTTPS_PORT).
OSS_PORT=$((BASE + 13))
OSS_HTTPS_PORT="${GI_OSS_HTTPS_PORT:-$((BASE + 14))}"
if [ -n "${GI_OSS_CERT:-}" ]; then
  export ObjectStore__OssCertificateFile="$GI_OSS_CERT" ObjectStore__OssCertificateKeyFile="${GI_OSS_KEY:-}" ObjectStore__OssHttpsPort="$OSS_HTTPS_PORT"
fi

ensure_packages redis-server:redis-server qemu-img:qemu-utils
ensure_buf
mkdir -p "$DATA/redis" "$DATA/logs" "$DATA/store"
[ -s "$DATA/signing.key" ] || head -c 32 /dev/urandom | base64 > "$DATA/signing.key"
[ -s "$DATA/operator.credential" ] || head -c 24 /dev/urandom | base64 | tr -d '/+=' > "$DATA/operator.credential"
[ -s "$DATA/kms-root.key" ] || head -c 32 /dev/urandom | base64 > "$DATA/kms-root.key"
chmod 600 "$DATA/signing.key" "$DATA/operator.credential" "$DATA/kms-root.key"

log "building (Release)"
dotnet build "$ROOT/GrpcImages.sln" -c Release -v quiet -nologo >/dev/null

PIDS=()
PIDFILE="$DATA/pids"
: >"$PIDFILE"
cleanup() {
  trap - INT TERM EXIT
  log "stopping"
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap 'cleanup; exit 0' INT TERM
trap cleanup EXIT

NAMES=()
write_pids() { : >"$PIDFILE"; for i in "${!NAMES[@]}"; do echo "${NAMES[$i]} ${PIDS[$i]}" >>"$PIDFILE"; done; }

start_redis() {
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$DATA/redis" --appendonly yes --appendfsync everysec \
    --save "" --daemonize no --logfile "$DATA/logs/redis.log" &
  LAST=$!
}

start_service() {
  local svc=$1 name="GrpcImages.${1^}"
  local out="$ROOT/services/$name/bin/Release/net10.0"
  (
    cd "$out"
    export Service__Port="${PORTS[$svc]}" Redis__Configuration="127.0.0.1:$REDIS_PORT" \
      Identity__SigningKeyFile="$DATA/signing.key" Operator__CredentialFile="$DATA/operator.credential" \
      Kms__RootKeyFile="$DATA/kms-root.key" \
      Data__Directory="$DATA/store" ObjectStore__HttpPort="$((BASE + 12))" ObjectStore__OssPort="$OSS_PORT" Gateway__HttpPort="$ECS_PORT" Console__HttpPort="$CONSOLE_PORT" \
      Peers__Catalog="http://127.0.0.1:${PORTS[catalog]}" Peers__Transfer="http://127.0.0.1:${PORTS[transfer]}" \
      Peers__Sharing="http://127.0.0.1:${PORTS[sharing]}" Peers__Kms="http://127.0.0.1:${PORTS[kms]}"
    exec dotnet "$name.dll" >>"$DATA/logs/$svc.log" 2>&1
  ) &
  LAST=$!
}

start() {
  if [ "$1" = redis ]; then start_redis; else start_service "$1"; fi
}

log "starting redis-server on 127.0.0.1:$REDIS_PORT (AOF in .data/redis)"
start redis
NAMES+=(redis); PIDS+=("$LAST")
for svc in kms sharing transfer catalog gateway console; do
  log "starting $svc on 127.0.0.1:${PORTS[$svc]}"
  start "$svc"
  NAMES+=("$svc"); PIDS+=("$LAST")
done
write_pids

health() { "$BUF" curl --protocol grpc --http2-prior-knowledge -d '{}' "http://127.0.0.1:$1/grpc.health.v1.Health/Check" 2>/dev/null | grep -q '"SERVING"'; }
for svc in kms sharing transfer catalog gateway console; do
  for _ in $(seq 1 120); do
    health "${PORTS[$svc]}" && break
    sleep 0.5
  done
  health "${PORTS[$svc]}" || { log "$svc did not become healthy; see $DATA/logs/$svc.log"; exit 1; }
done

cat <<MSG

GrpcImages is up (logs in $DATA/logs/, state in $DATA/):
  catalog   127.0.0.1:${PORTS[catalog]}   grpcimages.catalog.v1
  transfer  127.0.0.1:${PORTS[transfer]}   grpcimages.transfer.v1 (signed download links on http://127.0.0.1:$((BASE + 12)))
  oss       http://127.0.0.1:$OSS_PORT   the OSS API for Alibaba's OSS clients (ali-oss, ossutil, Packer)${GI_OSS_CERT:+; HTTPS on 127.0.0.1:$OSS_HTTPS_PORT}
  sharing   127.0.0.1:${PORTS[sharing]}   grpcimages.sharing.v1
  kms       127.0.0.1:${PORTS[kms]}   grpcimages.kms.v1
  gateway   http://127.0.0.1:$ECS_PORT   the ECS API 2014-05-26 for Alibaba Cloud's SDKs (gRPC health on ${PORTS[gateway]})
  console   http://127.0.0.1:$CONSOLE_PORT   the web console: sign in with an AccessKey pair, or as the operator with
            the credential in $DATA/operator.credential (gRPC health on ${PORTS[console]})
  redis     127.0.0.1:$REDIS_PORT

With imgctl (scripts/imgctl; add --catalog/--sharing/--kms if you changed the ports):
  export IMGCTL_TOKEN=\$(scripts/imgctl token operator --credential-file $DATA/operator.credential)
  scripts/imgctl accounts create --site Cn --name Acme
  export IMGCTL_TOKEN=\$(scripts/imgctl token account <the new account id>)
  scripts/imgctl images list
  scripts/imgctl accesskeys create    # an AccessKey pair to sign in to the console (or for the SDKs) with

Press Ctrl-C to stop.
MSG
# Supervise: a process that exits is started again (the others keep serving; clients retry meanwhile).
while true; do
  wait -n "${PIDS[@]}" || true
  for i in "${!NAMES[@]}"; do
    if ! kill -0 "${PIDS[$i]}" 2>/dev/null; then
      log "${NAMES[$i]} exited; starting it again (see $DATA/logs/${NAMES[$i]}.log)"
      sleep 1
      start "${NAMES[$i]}"
      PIDS[i]=$LAST
      write_pids
    fi
  done
done
