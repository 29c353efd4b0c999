#!/usr/bin/env bash
# Packer's alicloud-import post-processor (Debian's packer 1.6.6, unchanged) end to end against a cluster started by scripts/run.sh
# whose OSS endpoint serves HTTPS on 127.0.0.1:443 with a certificate of tests/packer/certs.sh: a "file" builder makes a small RAW
# disk, the post-processor creates the bucket and puts the disk into OSS here, imports it with ImportImage through the ECS
# gateway, waits for the image to be Available and deletes the uploaded object. Its OSS endpoint is fixed to
# https://oss-<region>.aliyuncs.com, so packer runs in a private mount namespace whose /etc/hosts maps the OSS names to
# 127.0.0.1, trusting the test authority (SSL_CERT_FILE); its ECS calls (plain HTTP) go to the gateway as their proxy
# (HTTP_PROXY). Needs root (unshare -m, the bind mount, port 443). Ends with "N passed, N failed".
#   tests/packer/run.sh <port base of run.sh> <operator credential file> <CA certificate file>
set -uo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
BASE=$1 CREDENTIAL_FILE=$2 CA_FILE=$3
REGION=cn-hangzhou
KMS="http://127.0.0.1:$((BASE + 4))"
passed=0 failed=0
check() { # check "what" command...
  local what="$1"; shift
  if "$@" >/dev/null 2>&1; then passed=$((passed + 1)); echo "  ok    $what"; else failed=$((failed + 1)); echo "  FAIL  $what"; fi
}
finish() { echo "$passed passed, $failed failed"; [ "$failed" -eq 0 ]; exit; }

if [ "$(id -u)" -ne 0 ]; then
  failed=1; echo "  FAIL  packer alicloud-import needs root (unshare -m, a bind mount over /etc/hosts, port 443)"; finish
fi
ensure_packages packer:packer unshare:util-linux qemu-img:qemu-utils jq:jq ss:iproute2
ensure_buf
if ! ss -ltn 'sport = :443' | grep -q LISTEN; then
  failed=1; echo "  FAIL  nothing listens on 127.0.0.1:443 (run.sh needs GI_OSS_CERT, GI_OSS_KEY and GI_OSS_HTTPS_PORT=443)"; finish
fi

rpc() { "$BUF" curl --protocol grpc --http2-prior-knowledge -H "authorization: Bearer $1" -d "$3" "$KMS/grpcimages.kms.v1.$2"; }
operator="$("$BUF" curl --protocol grpc --http2-prior-knowledge -d "{\"operator_name\":\"admin\",\"operator_credential\":\"$(cat "$CREDENTIAL_FILE")\"}" \
  "$KMS/grpcimages.kms.v1.AccountService/IssueToken" | jq -r .token)"
account="$(rpc "$operator" AccountService/CreateAccount '{"site":"SITE_CN","display_name":"packer"}' | jq -r .account.accountId)"
read -r KEY_ID SECRET <<<"$(rpc "$operator" AccessKeyService/CreateAccessKey "{\"account_id\":\"$account\"}" | jq -r '"\(.accessKey.accessKeyId) \(.accessKeySecret)"')"
token="$(rpc "$operator" AccountService/IssueToken "{\"account_id\":\"$account\"}" | jq -r .token)"
# The import role, as the console's one-click authorization makes it (alicloud-import would otherwise call RAM's CreateRole).
for role in AliyunECSImageImportDefaultRole AliyunECSImageExportDefaultRole; do
  rpc "$token" RoleService/CreateServiceRole "{\"account_id\":\"$account\",\"role_name\":\"$role\"}" >/dev/null
done
export IMGCTL_TOKEN="$token" IMGCTL_REGION=$REGION IMGCTL_CATALOG="http://127.0.0.1:$((BASE + 1))" IMGCTL_TRANSFER="http://127.0.0.1:$((BASE + 2))" \
  IMGCTL_SHARING="http://127.0.0.1:$((BASE + 3))" IMGCTL_KMS="$KMS"
imgctl() { "$ROOT/scripts/imgctl" "$@"; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# A 64 MiB RAW disk with random bytes in its first and last MiB (what the file builder copies as its artifact).
qemu-img create -q -f raw "$work/source.raw" 64M
dd if=/dev/urandom of="$work/source.raw" bs=1M count=1 conv=notrunc status=none
dd if=/dev/urandom of="$work/source.raw" bs=1M count=1 seek=63 conv=notrunc status=none
bucket="packer-$RANDOM$RANDOM"
name="packer-import-$RANDOM"
jq -n --arg source "$work/source.raw" --arg target "$work/output/disk.raw" --arg key "$KEY_ID" --arg secret "$SECRET" --arg region $REGION \
  --arg bucket "$bucket" --arg name "$name" '{
  builders: [{ type: "file", source: $source, target: $target }],
  "post-processors": [{
    type: "alicloud-import", access_key: $key, secret_key: $secret, region: $region,
    oss_bucket_name: $bucket, oss_key_name: "packer/{{timestamp}}.raw", image_name: $name, image_description: "made by packer",
    image_os_type: "linux", image_platform: "Ubuntu", image_architecture: "x86_64", format: "RAW"
  }]
}' >"$work/template.json"
mkdir -p "$work/output"
{ grep -v aliyuncs.com /etc/hosts; echo "127.0.0.1 oss-$REGION.aliyuncs.com $bucket.oss-$REGION.aliyuncs.com"; } >"$work/hosts"

# The OSS names resolve to 127.0.0.1 only inside the namespace; the host's /etc/hosts is left as it was.
SECONDS=0
unshare -m --propagation private bash -c 'mount --bind "$1" /etc/hosts && shift && exec "$@"' _ "$work/hosts" \
  env HOME="$work" CHECKPOINT_DISABLE=1 PACKER_LOG=1 PACKER_LOG_PATH="$work/packer.log" SSL_CERT_FILE="$CA_FILE" SSL_CERT_DIR=/nonexistent \
  HTTP_PROXY="http://127.0.0.1:$((BASE + 5))" http_proxy="http://127.0.0.1:$((BASE + 5))" NO_PROXY= no_proxy= \
  packer build -color=false -machine-readable "$work/template.json" >"$work/packer.out" 2>&1
status=$?
echo "  (packer build took ${SECONDS}s)"
image="$(grep -o "Importing created alicloud image ID m-[A-Za-z0-9]*" "$work/packer.out" | awk '{print $NF}' | tail -1)"
check "packer build with alicloud-import succeeds and names the imported image" test "$status" -eq 0 -a -n "$image"
if [ "$status" -ne 0 ] || [ -z "$image" ]; then
  grep -E "ui,(say|message|error)" "$work/packer.out" | cut -d, -f4- | tail -20 | sed 's/^/        /'
  grep -iE "error|status code|https://|http://" "$work/packer.log" | tail -20 | sed 's/^/        /'
  finish
fi
available() { imgctl --json images get "$image" | jq -e --arg n "$name" '.status == "IMAGE_STATUS_AVAILABLE" and .imageName == $n and .description == "made by packer"'; }
check "the image is Available under the template's name and description" available
cleaned() { local listed; listed="$(imgctl objects list "$bucket")" && ! grep -q packer/ <<<"$listed"; }
check "the uploaded object was deleted after the import (skip_clean false)" cleaned
# The image holds the bytes packer uploaded: exported as RAW and compared with the source disk.
imgctl images export "$image" --bucket "$bucket" --prefix check --format Raw --wait >/dev/null 2>&1
imgctl objects get "$bucket" "check_${image}_system.raw" -o "$work/exported.raw" >/dev/null 2>&1
check "the image exported as RAW starts with the disk packer uploaded" cmp -n "$(stat -c %s "$work/source.raw")" "$work/source.raw" "$work/exported.raw"
untouched() { ! grep -q "oss-$REGION.aliyuncs.com" /etc/hosts; }
check "the host's /etc/hosts does not know the OSS names" untouched
finish
