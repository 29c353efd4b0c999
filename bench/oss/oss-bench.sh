#!/usr/bin/env bash
# The OSS endpoint measured side by side in one run (issue 22): ali-oss multipartUpload (8 MiB parts, 5 at a time) of a file of
# random bytes against cp + sync of the same file, and ali-oss getStream of the object against cat of the file (both to
# /dev/null), with the transfer process's peak RSS before and after. Starts its own scripts/run.sh (scratch data, spare ports).
#   bench/oss/oss-bench.sh [MiB, default 2048]
set -uo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
cd "$ROOT"
MIB="${1:-2048}"
export GI_DATA="$(mktemp -d)" REDIS_PORT="${BENCH_REDIS_PORT:-6397}" GI_PORT_BASE="${BENCH_PORT_BASE:-5700}"
work="$(mktemp -d -p "${BENCH_DIR:-$ROOT}" .oss-bench-XXXX)"
bash scripts/run.sh >"$GI_DATA.out" 2>&1 &
RUN=$!
trap 'kill -TERM $RUN 2>/dev/null; wait $RUN 2>/dev/null; rm -rf "$GI_DATA" "$GI_DATA.out" "$work"' EXIT
for _ in $(seq 1 600); do grep -q "GrpcImages is up" "$GI_DATA.out" 2>/dev/null && break; kill -0 $RUN 2>/dev/null || break; sleep 0.5; done
grep -q "GrpcImages is up" "$GI_DATA.out" || { cat "$GI_DATA.out"; exit 1; }
(cd tests/oss-sdk && { [ -d node_modules/ali-oss ] || npm ci --no-audit --no-fund --loglevel=error >/dev/null; })

KMS="http://127.0.0.1:$((GI_PORT_BASE + 4))"
rpc() { "$BUF" curl --protocol grpc --http2-prior-knowledge -H "authorization: Bearer $1" -d "$3" "$KMS/grpcimages.kms.v1.$2"; }
operator="$("$BUF" curl --protocol grpc --http2-prior-knowledge -d "{\"operator_name\":\"admin\",\"operator_credential\":\"$(cat "$GI_DATA/operator.credential")\"}" \
  "$KMS/grpcimages.kms.v1.AccountService/IssueToken" | jq -r .token)"
account="$(rpc "$operator" AccountService/CreateAccount '{"site":"SITE_CN","display_name":"bench"}' | jq -r .account.accountId)"
read -r KEY_ID SECRET <<<"$(rpc "$operator" AccessKeyService/CreateAccessKey "{\"account_id\":\"$account\"}" | jq -r '"\(.accessKey.accessKeyId) \(.accessKeySecret)"')"
transfer="$(awk '$1 == "transfer" {print $2}' "$GI_DATA/pids")"
peak() { awk '/VmHWM/ {print $2 / 1024 " MiB"}' "/proc/$transfer/status"; }

echo "writing $MIB MiB of random bytes"
head -c "$((MIB * 1024 * 1024))" /dev/urandom >"$work/src.bin"
sync
rss_before="$(peak)"
seconds() { local start=$EPOCHREALTIME; "$@" >/dev/null; echo "$EPOCHREALTIME - $start" | bc; }
cp_s="$(seconds bash -c "cp '$work/src.bin' '$work/copy.bin' && sync")"
node_run() { # node_run <script>
  (cd tests/oss-sdk && OSS_ENDPOINT="http://127.0.0.1:$((GI_PORT_BASE + 13))" KEY_ID="$KEY_ID" SECRET="$SECRET" FILE="$work/src.bin" node -e "$1")
}
client='const OSS = require("ali-oss"); const c = new OSS({ accessKeyId: process.env.KEY_ID, accessKeySecret: process.env.SECRET,
  endpoint: process.env.OSS_ENDPOINT, region: "oss-cn-hangzhou", bucket: "bench-oss", timeout: 600000 });'
node_run "$client (async () => { await c.putBucket(\"bench-oss\"); })()"
up_s="$(seconds node_run "$client (async () => { await c.multipartUpload(\"src.bin\", process.env.FILE, { partSize: 8 << 20, parallel: 5 }); })()")"
cat_s="$(seconds bash -c "cat '$work/copy.bin' >/dev/null")"
get_s="$(seconds node_run "$client (async () => { const r = await c.getStream(\"src.bin\"); for await (const _ of r.stream) {} })()")"
rss_after="$(peak)"
printf '%-52s %10s %10s %8s\n' "measure ($MIB MiB)" "seconds" "baseline" "ratio"
printf '%-52s %10.2f %10.2f %8.2f\n' "ali-oss multipartUpload vs cp + sync" "$up_s" "$cp_s" "$(echo "$up_s / $cp_s" | bc -l)"
printf '%-52s %10.2f %10.2f %8.2f\n' "ali-oss getStream vs cat (throughput, higher better)" "$get_s" "$cat_s" "$(echo "$cat_s / $get_s" | bc -l)"
echo "transfer process peak RSS: $rss_before before, $rss_after after"
