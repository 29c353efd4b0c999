#!/usr/bin/env bash
# Runs the SDK tests against a cluster started by scripts/run.sh: makes two accounts on the CN site
# (an owner and a recipient), a RAM user of the owner allowed only ecs:DescribeImages and ecs:DescribeRegions (ECS API names), AccessKey pairs
# for them (one of the owner's disabled), the owner's import and export roles and a bucket holding
# a QCOW2 disk, through the services' gRPC APIs and imgctl; then runs the node tests with Alibaba's
# SDKs pointed at the gateway. Ends with "N passed, N failed".
#   tests/ecs-sdk/run.sh <port base of run.sh, e.g. 5100> <operator credential file>
set -uo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
BASE=$1 CREDENTIAL_FILE=$2
KMS="http://127.0.0.1:$((BASE + 4))" TRANSFER="http://127.0.0.1:$((BASE + 2))" ENDPOINT="127.0.0.1:$((BASE + 5))"

cd "$ROOT/tests/ecs-sdk"
ensure_buf
ensure_packages packer:packer
[ -d node_modules/@alicloud/ecs20140526 ] || npm ci --no-audit --no-fund --loglevel=error >/dev/null

rpc() { # rpc <token> <method> <json>
  "$BUF" curl --protocol grpc --http2-prior-knowledge -H "authorization: Bearer $1" -d "$3" "$KMS/grpcimages.kms.v1.$2"
}
credential="$(cat "$CREDENTIAL_FILE")"
operator="$("$BUF" curl --protocol grpc --http2-prior-knowledge -d "{\"operator_name\":\"admin\",\"operator_credential\":\"$credential\"}" \
  "$KMS/grpcimages.kms.v1.AccountService/IssueToken" | jq -r .token)"
account() { rpc "$operator" AccountService/CreateAccount "{\"site\":\"SITE_CN\",\"display_name\":\"$1\"}" | jq -r .account.accountId; }
key() { # key <account> [user] -> "id secret"
  rpc "$operator" AccessKeyService/CreateAccessKey "{\"account_id\":\"$1\",\"user_name\":\"${2:-}\"}" | jq -r '"\(.accessKey.accessKeyId) \(.accessKeySecret)"'
}

OWNER_ID="$(account "sdk owner")"
RECIPIENT_ID="$(account "sdk recipient")"
read -r OWNER_KEY_ID OWNER_SECRET <<<"$(key "$OWNER_ID")"
read -r RECIPIENT_KEY_ID RECIPIENT_SECRET <<<"$(key "$RECIPIENT_ID")"
read -r DISABLED_KEY_ID DISABLED_SECRET <<<"$(key "$OWNER_ID")"
rpc "$operator" AccessKeyService/UpdateAccessKey \
  "{\"account_id\":\"$OWNER_ID\",\"access_key_id\":\"$DISABLED_KEY_ID\",\"status\":\"ACCESS_KEY_STATUS_INACTIVE\"}" >/dev/null
rpc "$operator" AccountService/CreateRamUser \
  "{\"account_id\":\"$OWNER_ID\",\"user_name\":\"viewer\",\"allowed_actions\":[\"ecs:DescribeImages\",\"ecs:DescribeRegions\"]}" >/dev/null
read -r VIEWER_KEY_ID VIEWER_SECRET <<<"$(key "$OWNER_ID" viewer)"

# What ImportImage and ExportImage need (R27, R29): the roles, a bucket, a disk file in it.
owner_token="$(rpc "$operator" AccountService/IssueToken "{\"account_id\":\"$OWNER_ID\"}" | jq -r .token)"
for role in AliyunECSImageImportDefaultRole AliyunECSImageExportDefaultRole; do
  rpc "$owner_token" RoleService/CreateServiceRole "{\"account_id\":\"$OWNER_ID\",\"role_name\":\"$role\"}" >/dev/null
done
# Packer's image_encrypted copies with the default service key, which needs KMS in the regions it copies to (R20).
for region in cn-hangzhou cn-shanghai; do rpc "$owner_token" KeyService/EnableKms "{\"region_id\":\"$region\"}" >/dev/null; done
BUCKET="sdk-$RANDOM$RANDOM"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
qemu-img create -q -f qcow2 "$work/disk.qcow2" 1G
"$ROOT/scripts/imgctl" --kms "$KMS" --transfer "$TRANSFER" --token "$owner_token" buckets create "$BUCKET" >/dev/null
"$ROOT/scripts/imgctl" --kms "$KMS" --transfer "$TRANSFER" --token "$owner_token" objects put "$BUCKET" "$work/disk.qcow2" >/dev/null
OBJECT=disk.qcow2

export ECS_ENDPOINT="$ENDPOINT" OWNER_ID OWNER_KEY_ID OWNER_SECRET RECIPIENT_ID RECIPIENT_KEY_ID RECIPIENT_SECRET \
  DISABLED_KEY_ID DISABLED_SECRET VIEWER_KEY_ID VIEWER_SECRET BUCKET OBJECT
out="$(node --test --test-concurrency=1 --test-reporter=tap 2>&1)"
echo "$out" | grep -E "^(not )?ok |^# Subtest|^    (not )?ok|^  ---|error|code|expected|actual" | sed 's/^/  /' | head -200
pass="$(sed -n 's/^# pass \([0-9]*\)$/\1/p' <<<"$out")"
fail="$(sed -n 's/^# fail \([0-9]*\)$/\1/p' <<<"$out")"
[ -n "$pass" ] || { echo "$out" | tail -40; fail=$((${fail:-0} + 1)); }
echo "${pass:-0} passed, ${fail:-0} failed"
