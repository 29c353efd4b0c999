#!/usr/bin/env bash
# The OSS endpoint measured side by side in one run (issue 22), for each size given (MiB; default 256 then 2048):
#   - ali-oss multipartUpload (8 MiB parts, 5 at a time) of a file of random bytes against cp + sync of the same file;
#   - GetObject of it to /dev/null through ali-oss getStream, and through curl (the server's rate without node's client),
#     against cat of the copy (from the page cache, as cp just wrote it) and dd with O_DIRECT (from the disk);
#   - the transfer process's peak RSS (VmHWM) after each size: flat in the object's size when the rows agree.
# Starts its own scripts/run.sh (scratch data, ports BENCH_PORT_BASE+, 5700 by default).
#   bench/oss/oss-bench.sh [MiB...]
set -uo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
cd "$ROOT"
SIZES=("$@")
[ ${#SIZES[@]} -eq 0 ] && SIZES=(256 2048)
ensure_packages bc:bc curl:curl jq:jq
export GI_DATA="$(mktemp -d)" REDIS_PORT="${BENCH_REDIS_PORT:-6397}" GI_PORT_BASE="${BENCH_PORT_BASE:-5700}"
work="$(mktemp -d -p "${BENCH_DIR:-$ROOT}" .oss-bench-XXXX)"
bash scripts/run.sh >"$GI_DATA.out" 2>&1 &
RUN=$!
trap 'kill -TERM $RUN 2>/dev/null; wait $RUN 2>/dev/null; rm -rf "$GI_DATA" "$GI_DATA.out" "$work"' EXIT
for _ in $(seq 1 600); do grep -q "GrpcImages is up" "$GI_DATA.out" 2>/dev/null && break; kill -0 $RUN 2>/dev/null || break; sleep 0.5; done
grep -q "GrpcImages is up" "$GI_DATA.out" || { cat "$GI_DATA.out"; exit 1; }
(cd tests/oss-sdk && { [ -d node_modules/ali-oss ] || npm ci --no-audit --no-fund --loglevel=error >/dev/null; })

KMS="http://127.0.0.1:$((GI_PORT_BASE + 4))"
OSS="http://127.0.0.1:$((GI_PORT_BASE + 13))"
rpc() { "$BUF" curl --protocol grpc --http2-prior-knowledge -H "authorization: Bearer $1" -d "$3" "$KMS/grpcimages.kms.v1.$2"; }
operator="$("$BUF" curl --protocol grpc --http2-prior-knowledge -d "{\"operator_name\":\"admin\",\"operator_credential\":\"$(cat "$GI_DATA/operator.credential")\"}" \
  "$KMS/grpcimages.kms.v1.AccountService/IssueToken" | jq -r .token)"
account="$(rpc "$operator" AccountService/CreateAccount '{"site":"SITE_CN","display_name":"bench"}' | jq -r .account.accountId)"
read -r KEY_ID SECRET <<<"$(rpc "$operator" AccessKeyService/CreateAccessKey "{\"account_id\":\"$account\"}" | jq -r '"\(.accessKey.accessKeyId) \(.accessKeySecret)"')"
transfer="$(awk '$1 == "transfer" {print $2}' "$GI_DATA/pids")"
peak() { awk '/VmHWM/ {printf "%.0f MiB", $2 / 1024}' "/proc/$transfer/status"; }
seconds() { local start=$EPOCHREALTIME; "$@" >/dev/null 2>&1; echo "$EPOCHREALTIME - $start" | bc; }
node_run() { # node_run <script>: with ali-oss, signed with the bench account's key
  (cd tests/oss-sdk && OSS_ENDPOINT="$OSS" KEY_ID="$KEY_ID" SECRET="$SECRET" FILE="$work/src.bin" node -e "$1")
}
client='const OSS = require("ali-oss"); const c = new OSS({ accessKeyId: process.env.KEY_ID, accessKeySecret: process.env.SECRET,
  endpoint: process.env.OSS_ENDPOINT, region: "oss-cn-hangzhou", bucket: "bench-oss", timeout: 600000 });'
# Public-read, so curl reads it unsigned (the same GetObject path, anonymous).
node_run "$client (async () => { await c.putBucket(\"bench-oss\", { acl: \"public-read\" }); })()"
rss_start="$(peak)"

rows=() rss=()
for mib in "${SIZES[@]}"; do
  echo "writing $mib MiB of random bytes" >&2
  rm -f "$work/src.bin" "$work/copy.bin"
  head -c "$((mib * 1024 * 1024))" /dev/urandom >"$work/src.bin"
  sync
  cp_s="$(seconds bash -c "cp '$work/src.bin' '$work/copy.bin' && sync")"
  up_s="$(seconds node_run "$client (async () => { await c.multipartUpload(\"src.bin\", process.env.FILE, { partSize: 8 << 20, parallel: 5 }); })()")"
  cat_s="$(seconds bash -c "cat '$work/copy.bin' >/dev/null")"
  direct_s="$(seconds dd if="$work/copy.bin" of=/dev/null bs=4M iflag=direct)"
  get_s="$(seconds node_run "$client (async () => { const r = await c.getStream(\"src.bin\"); for await (const _ of r.stream) {} })()")"
  curl_s="$(seconds curl -sf -o /dev/null "$OSS/bench-oss/src.bin")"
  rss+=("$mib MiB: $(peak)")
  ratio() { echo "$1 / $2" | bc -l; }
  rows+=("$(printf '%-58s %9.2f %9.2f %7.2f' "$mib MiB  multipartUpload vs cp + sync (time, goal <= 2)" "$up_s" "$cp_s" "$(ratio "$up_s" "$cp_s")")")
  rows+=("$(printf '%-58s %9.2f %9.2f %7.2f' "$mib MiB  getStream vs cat, page cache (throughput, goal >= 0.5)" "$get_s" "$cat_s" "$(ratio "$cat_s" "$get_s")")")
  rows+=("$(printf '%-58s %9.2f %9.2f %7.2f' "$mib MiB  getStream vs dd O_DIRECT, disk (throughput)" "$get_s" "$direct_s" "$(ratio "$direct_s" "$get_s")")")
  rows+=("$(printf '%-58s %9.2f %9.2f %7.2f' "$mib MiB  curl GetObject vs cat, page cache (throughput)" "$curl_s" "$cat_s" "$(ratio "$cat_s" "$curl_s")")")
  node_run "$client (async () => { await c.delete(\"src.bin\"); })()"
done
printf '%-58s %9s %9s %7s\n' "measure" "seconds" "baseline" "ratio"
printf '%s\n' "${rows[@]}"
echo "transfer process peak RSS (VmHWM): $rss_start at the start; after each size: ${rss[*]}"
