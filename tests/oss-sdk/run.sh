#!/usr/bin/env bash
# Runs the OSS SDK tests against a cluster started by scripts/run.sh: makes two accounts on the CN site (an owner with the
# import and export roles, and a stranger), an AccessKey pair for each, and a small QCOW2 disk to upload; then runs the node
# tests with ali-oss pointed at the OSS endpoint and the ECS SDK at the gateway. Ends with "N passed, N failed".
#   tests/oss-sdk/run.sh <port base of run.sh, e.g. 5100> <operator credential file>
# OSS_MULTIPART_MIB sets the size of the multipart upload (the issue's 1 GiB by default; e.g. 64 for a quicker run).
set -uo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
BASE=$1 CREDENTIAL_FILE=$2
KMS="http://127.0.0.1:$((BASE + 4))"

cd "$ROOT/tests/oss-sdk"
ensure_buf
[ -d node_modules/ali-oss ] || npm ci --no-audit --no-fund --loglevel=error >/dev/null

rpc() { # rpc <token> <method> <json>
  "$BUF" curl --protocol grpc --http2-prior-knowledge -H "authorization: Bearer $1" -d "$3" "$KMS/grpcimages.kms.v1.$2"
}
credential="$(cat "$CREDENTIAL_FILE")"
operator="$("$BUF" curl --protocol grpc --http2-prior-knowledge -d "{\"operator_name\":\"admin\",\"operator_credential\":\"$credential\"}" \
  "$KMS/grpcimages.kms.v1.AccountService/IssueToken" | jq -r .token)"
account() { rpc "$operator" AccountService/CreateAccount "{\"site\":\"SITE_CN\",\"display_name\":\"$1\"}" | jq -r .account.accountId; }
key() { # key <account> -> "id secret"
  rpc "$operator" AccessKeyService/CreateAccessKey "{\"account_id\":\"$1\"}" | jq -r '"\(.accessKey.accessKeyId) \(.accessKeySecret)"'
}

OWNER_ID="$(account "oss owner")"
OTHER_ID="$(account "oss stranger")"
read -r OWNER_KEY_ID OWNER_SECRET <<<"$(key "$OWNER_ID")"
read -r OTHER_KEY_ID OTHER_SECRET <<<"$(key "$OTHER_ID")"
owner_token="$(rpc "$operator" AccountService/IssueToken "{\"account_id\":\"$OWNER_ID\"}" | jq -r .token)"
for role in AliyunECSImageImportDefaultRole AliyunECSImageExportDefaultRole; do
  rpc "$owner_token" RoleService/CreateServiceRole "{\"account_id\":\"$OWNER_ID\",\"role_name\":\"$role\"}" >/dev/null
done
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
QCOW2_FILE="$work/disk.qcow2"
qemu-img create -q -f qcow2 "$QCOW2_FILE" 1G

export OSS_ENDPOINT="127.0.0.1:$((BASE + 13))" ECS_ENDPOINT="127.0.0.1:$((BASE + 5))" OWNER_KEY_ID OWNER_SECRET OTHER_KEY_ID OTHER_SECRET QCOW2_FILE
out="$(node --test --test-concurrency=1 --test-reporter=tap 2>&1)"
# ali-oss's HTTP client warns of every request the cut-connection test breaks: those lines are left out.
echo "$out" | grep -E "^(not )?ok |^# Subtest|^    (not )?ok|^  ---|error|code|expected|actual" | grep -Ev "urllib:warn|# stack: ResponseError" | sed 's/^/  /' | head -200
pass="$(sed -n 's/^# pass \([0-9]*\)$/\1/p' <<<"$out")"
fail="$(sed -n 's/^# fail \([0-9]*\)$/\1/p' <<<"$out")"
[ -n "$pass" ] || { echo "$out" | tail -40; fail=$((${fail:-0} + 1)); }
echo "${pass:-0} passed, ${fail:-0} failed"
