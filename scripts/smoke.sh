#!/usr/bin/env bash
# Proves the README's run command on this machine: starts scripts/run.sh with a scratch data
# directory and spare ports, then talks to it as an outside client (buf curl): every port
# lists its services, a call without a token is UNAUTHENTICATED, the operator creates two
# accounts and gets their tokens, imgctl works, and Alibaba Cloud's SDKs pass tests/ecs-sdk against the
# ECS gateway and tests/oss-sdk (ali-oss) against the OSS endpoint, and Packer's alicloud-import imports a disk (tests/packer). Prints "N passed, N failed" for these checks (the SDK tests' counts included).
set -uo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
ensure_packages jq:jq curl:curl openssl:openssl ss:iproute2
ensure_buf

export GI_DATA="$(mktemp -d)" REDIS_PORT="${SMOKE_REDIS_PORT:-6391}" GI_PORT_BASE="${SMOKE_PORT_BASE:-5200}"
# The OSS endpoint's HTTPS listener on 127.0.0.1:443 under a certificate for *.aliyuncs.com of a test authority, for Packer's
# alicloud-import (tests/packer), whose OSS endpoint is fixed to https://oss-<region>.aliyuncs.com. Port 443 needs root.
if [ "$(id -u)" -eq 0 ] && ! ss -ltn 'sport = :443' | grep -q LISTEN; then
  bash tests/packer/certs.sh "$GI_DATA/tls"
  export GI_OSS_CERT="$GI_DATA/tls/oss.crt" GI_OSS_KEY="$GI_DATA/tls/oss.key" GI_OSS_HTTPS_PORT=443
fi
passed=0 failed=0
check() { # check "what" command...
  local what="$1"; shift
  if "$@" >/dev/null 2>&1; then passed=$((passed + 1)); echo "  ok    $what"; else failed=$((failed + 1)); echo "  FAIL  $what"; fi
}
curl_grpc() { "$BUF" curl --protocol grpc --http2-prior-knowledge "$@"; }

# Snapshots of instance disks are paced at 10 GiB/s (1 by default) so that the Packer builds (20 + 40 GiB disks) take seconds.
export Catalog__SnapshotBytesPerSecond=$((10 << 30))
bash scripts/run.sh >"$GI_DATA.out" 2>&1 &
RUN=$!
trap 'kill -TERM $RUN 2>/dev/null; wait $RUN 2>/dev/null; rm -rf "$GI_DATA" "$GI_DATA.out"' EXIT
for _ in $(seq 1 600); do
  grep -q "GrpcImages is up" "$GI_DATA.out" 2>/dev/null && break
  kill -0 $RUN 2>/dev/null || break
  sleep 0.5
done
check "run.sh brings the cluster up" grep -q "GrpcImages is up" "$GI_DATA.out" || cat "$GI_DATA.out"

declare -A EXPECT=(
  [$((GI_PORT_BASE + 1))]="grpcimages.catalog.v1.ImageService grpcimages.catalog.v1.InstanceService grpcimages.catalog.v1.SnapshotService"
  [$((GI_PORT_BASE + 2))]="grpcimages.transfer.v1.TransferService grpcimages.transfer.v1.TaskService grpcimages.transfer.v1.ObjectStoreService"
  [$((GI_PORT_BASE + 3))]="grpcimages.sharing.v1.SharingService grpcimages.sharing.v1.QuotaService"
  [$((GI_PORT_BASE + 4))]="grpcimages.kms.v1.AccountService grpcimages.kms.v1.RoleService grpcimages.kms.v1.KeyService grpcimages.kms.v1.AccessKeyService"
  [$((GI_PORT_BASE + 6))]=""
)
for port in "${!EXPECT[@]}"; do
  listed="$(curl_grpc --list-services "http://127.0.0.1:$port" 2>/dev/null)"
  for svc in ${EXPECT[$port]} grpc.health.v1.Health; do
    check "port $port lists $svc" grep -qx "$svc" <<<"$listed"
  done
done

KMS="http://127.0.0.1:$((GI_PORT_BASE + 4))"
check "a call without a token is UNAUTHENTICATED" \
  bash -c "\"$BUF\" curl --protocol grpc --http2-prior-knowledge -d '{}' $KMS/grpcimages.kms.v1.AccountService/GetCallerIdentity 2>&1 | grep -q '\"unauthenticated\"'"

credential="$(cat "$GI_DATA/operator.credential")"
operator="$(curl_grpc -d "{\"operator_name\":\"admin\",\"operator_credential\":\"$credential\"}" \
  "$KMS/grpcimages.kms.v1.AccountService/IssueToken" 2>/dev/null | jq -r .token)"
check "the operator gets a token with its credential" test -n "$operator" -a "$operator" != null
for site in SITE_CN SITE_JP; do
  account="$(curl_grpc -H "authorization: Bearer $operator" -d "{\"site\":\"$site\",\"display_name\":\"smoke $site\"}" \
    "$KMS/grpcimages.kms.v1.AccountService/CreateAccount" 2>/dev/null | jq -r .account.accountId)"
  check "the operator creates an account on $site" grep -Eq '^[0-9]{16}$' <<<"$account"
  token="$(curl_grpc -H "authorization: Bearer $operator" -d "{\"account_id\":\"$account\"}" \
    "$KMS/grpcimages.kms.v1.AccountService/IssueToken" 2>/dev/null | jq -r .token)"
  check "the account's root token works" bash -c "\"$BUF\" curl --protocol grpc --http2-prior-knowledge -H 'authorization: Bearer $token' -d '{}' \
    $KMS/grpcimages.kms.v1.AccountService/GetCallerIdentity | grep -q $account"
done

ENDPOINTS=(--catalog "http://127.0.0.1:$((GI_PORT_BASE + 1))" --transfer "http://127.0.0.1:$((GI_PORT_BASE + 2))" --sharing "http://127.0.0.1:$((GI_PORT_BASE + 3))" --kms "$KMS")
check "imgctl lists the seeded public images" bash -c "scripts/imgctl ${ENDPOINTS[*]} --token '$token' images list --alias System | grep -q ubuntu_22_04_x64"
check "imgctl makes an instance" bash -c "scripts/imgctl ${ENDPOINTS[*]} --token '$token' instances create --image ubuntu_22_04_x64_20G_alibase_20240101.vhd | grep -q Running"

head -c 5000000 /dev/urandom >"$GI_DATA/smoke.bin"
bucket="smoke-$RANDOM$RANDOM"
check "imgctl uploads a file to a new bucket" bash -c "scripts/imgctl ${ENDPOINTS[*]} --token '$token' buckets create $bucket && scripts/imgctl ${ENDPOINTS[*]} --token '$token' objects put $bucket '$GI_DATA/smoke.bin'"
url="$(scripts/imgctl "${ENDPOINTS[@]}" --token "$token" objects url "$bucket" smoke.bin 2>/dev/null)"
check "curl downloads it through a signed link on the download port" bash -c "curl -sf '$url' | cmp - '$GI_DATA/smoke.bin'"

# Alibaba Cloud's own SDKs against the ECS gateway (tests/ecs-sdk): their counts join this tier's.
sdk="$(bash tests/ecs-sdk/run.sh "$GI_PORT_BASE" "$GI_DATA/operator.credential" 2>&1)"
echo "$sdk" | sed 's/^/  /'
if [[ "$(tail -n 1 <<<"$sdk")" =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
  passed=$((passed + BASH_REMATCH[1])); failed=$((failed + BASH_REMATCH[2]))
else
  failed=$((failed + 1)); echo "  FAIL  the ECS SDK tests did not report"
fi

# Alibaba's OSS SDK (ali-oss) against the OSS endpoint, then the ECS SDK importing what it uploaded (tests/oss-sdk).
oss="$(bash tests/oss-sdk/run.sh "$GI_PORT_BASE" "$GI_DATA/operator.credential" 2>&1)"
echo "$oss" | sed 's/^/  /'
if [[ "$(tail -n 1 <<<"$oss")" =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
  passed=$((passed + BASH_REMATCH[1])); failed=$((failed + BASH_REMATCH[2]))
else
  failed=$((failed + 1)); echo "  FAIL  the OSS SDK tests did not report"
fi

# Packer's alicloud-import post-processor: the disk into OSS over HTTPS, then ImportImage through the gateway (tests/packer).
packer_out="$(bash tests/packer/run.sh "$GI_PORT_BASE" "$GI_DATA/operator.credential" "$GI_DATA/tls/ca.crt" 2>&1)"
echo "$packer_out" | sed "s/^/  /"
if [[ "$(tail -n 1 <<<"$packer_out")" =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
  passed=$((passed + BASH_REMATCH[1])); failed=$((failed + BASH_REMATCH[2]))
else
  failed=$((failed + 1)); echo "  FAIL  the Packer test did not report"
fi

# A service that dies is started again; the others keep serving.
victim="$(awk '$1 == "sharing" {print $2}' "$GI_DATA/pids")"
kill -KILL "$victim" 2>/dev/null
restarted() {
  local now
  for _ in $(seq 1 120); do
    now="$(awk '$1 == "sharing" {print $2}' "$GI_DATA/pids")"
    if [ -n "$now" ] && [ "$now" != "$victim" ] && "$BUF" curl --protocol grpc --http2-prior-knowledge -d '{}' \
      "http://127.0.0.1:$((GI_PORT_BASE + 3))/grpc.health.v1.Health/Check" 2>/dev/null | grep -q '"SERVING"'; then return 0; fi
    sleep 0.5
  done
  return 1
}
check "a killed service is started again and serves" restarted
check "the others kept running" bash -c "kill -0 $RUN && \"$BUF\" curl --protocol grpc --http2-prior-knowledge -H 'authorization: Bearer $token' -d '{}' \
  $KMS/grpcimages.kms.v1.AccountService/GetCallerIdentity | grep -q $account"

started="$(awk '{print $2}' "$GI_DATA/pids" 2>/dev/null | tr '\n' ' ')"
kill -TERM $RUN 2>/dev/null; wait $RUN 2>/dev/null
gone() { # gone pid...: none of the processes is alive
  local pid; for pid in "$@"; do kill -0 "$pid" 2>/dev/null && return 1; done; return 0
}
check "run.sh listed the processes it started" test "$(wc -w <<<"$started")" -eq 7 # Redis, the four services, the gateway, the console
check "Ctrl-C (TERM) stops every process run.sh started" gone $started
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
