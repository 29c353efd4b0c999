#!/usr/bin/env bash
# Runs every test: buf lint and format of protos/, yamllint of the manifests, every test
# project of the solution (real redis-server, real gRPC over loopback), and the smoke test of
# scripts/run.sh. Ends with one line "N passed, N failed" summed over all of them (the TRX
# counters for dotnet test). Exits non-zero when anything failed.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

ensure_packages redis-server:redis-server qemu-img:qemu-utils yamllint:yamllint jq:jq
ensure_buf

passed=0 failed=0
check() { # check "what" command...
  local what="$1"; shift
  if "$@"; then passed=$((passed + 1)); log "ok: $what"; else failed=$((failed + 1)); log "FAILED: $what"; fi
}

check "buf lint protos/" bash -c "cd protos && '$BUF' lint"
check "buf format protos/" bash -c "cd protos && '$BUF' format --diff --exit-code"
yaml=()
for dir in k8s helm; do [ -d "$dir" ] && yaml+=("$dir"); done
[ -f docker-compose.yml ] && yaml+=(docker-compose.yml)
[ ${#yaml[@]} -gt 0 ] && check "yamllint ${yaml[*]}" yamllint -s "${yaml[@]}"

rm -rf TestResults
log "dotnet test GrpcImages.sln"
dotnet test GrpcImages.sln -nologo -v quiet --logger "trx;LogFilePrefix=results" --logger "console;verbosity=minimal" \
  --results-directory TestResults --blame-hang-timeout 10m
shopt -s nullglob
trx=(TestResults/*.trx)
if [ ${#trx[@]} -eq 0 ]; then
  failed=$((failed + 1)); log "FAILED: dotnet test wrote no results (build error?)"
fi
for file in "${trx[@]}"; do
  counters="$(grep -o '<Counters [^>]*>' "$file")"
  p="$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters")"
  f="$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")"
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
done

log "smoke test of scripts/run.sh"
smoke="$(bash scripts/smoke.sh 2>&1)"
echo "$smoke" | sed 's/^/    /'
summary="$(tail -n 1 <<<"$smoke")"
if [[ "$summary" =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
  passed=$((passed + BASH_REMATCH[1])); failed=$((failed + BASH_REMATCH[2]))
else
  failed=$((failed + 1))
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
