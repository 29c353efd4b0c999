#!/usr/bin/env bash
# Makes a test certificate authority and, signed by it, a certificate for the OSS names Packer's alicloud-import calls
# (oss-<region>.aliyuncs.com and <bucket>.oss-<region>.aliyuncs.com) for the OSS endpoint's HTTPS listener:
#   tests/packer/certs.sh <directory> [region, default cn-hangzhou]   ->  ca.crt, oss.crt, oss.key (PEM) in <directory>
# The authority's key is deleted once the certificate is signed: nothing else can be signed with it.
set -euo pipefail
dir=$1 region=${2:-cn-hangzhou}
mkdir -p "$dir"
cd "$dir"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "/CN=GrpcImages test CA" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" -keyout ca.key -out ca.crt 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=*.aliyuncs.com" -keyout oss.key -out oss.csr 2>/dev/null
printf 'subjectAltName=DNS:*.aliyuncs.com,DNS:*.oss-%s.aliyuncs.com\nbasicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n' \
  "$region" >oss.ext
openssl x509 -req -in oss.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile oss.ext -out oss.crt 2>/dev/null
rm -f ca.key ca.srl oss.csr oss.ext
chmod 600 oss.key
