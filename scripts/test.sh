#!/usr/bin/env bash
# Runs every test, tier by tier, and ends with one line "N passed, N failed" summed over all of
# them (the TRX counters of each dotnet test run, plus the checks of the other tiers). Exits
# non-zero when anything failed. One tier (or a few): scripts/test.sh --tier integration [--tier smoke]
#
#   lint         buf lint and format of protos/, yamllint of the manifests, dotnet format
#   unit         fast tests: shared rules, the work queue, domain rules, deployment manifests
#   integration  the whole cluster over loopback with real Redis (each rule proven end to end)
#   reliability  services killed (SIGKILL) and frozen (SIGSTOP) in processes of their own
#   e2e          the console in Debian's chromium (Playwright) against scripts/run.sh's cluster; screenshots
#                of each page in TestResults/screenshots/
#   smoke        scripts/run.sh brought up and used as an outside client would
set -uo pipefail
source "$(dirname "$0")/lib.sh"
cd "$ROOT"

ALL=(lint unit integration reliability e2e smoke)
tiers=()
while [ $# -gt 0 ]; do
  case "$1" in
    --tier) tiers+=("${2:-}"); shift 2 ;;
    *) echo "usage: scripts/test.sh [--tier lint|unit|integration|reliability|e2e|smoke]..." >&2; exit 2 ;;
  esac
done
[ ${#tiers[@]} -eq 0 ] && tiers=("${ALL[@]}")
for tier in "${tiers[@]}"; do
  [[ " ${ALL[*]} " == *" $tier "* ]] || { echo "unknown tier '$tier' (tiers: ${ALL[*]})" >&2; exit 2; }
done
wants() { [[ " ${tiers[*]} " == *" $1 "* ]]; }

ensure_packages redis-server:redis-server qemu-img:qemu-utils yamllint:yamllint jq:jq curl:curl
ensure_buf
if wants e2e; then
  # The browser from Debian, never a downloaded one; a Japanese font for the pages in Japanese.
  ensure_packages chromium:chromium
  ensure_debs fonts-ipafont-gothic
fi

passed=0 failed=0
check() { # check "what" command...
  local what="$1"; shift
  if "$@"; then passed=$((passed + 1)); log "ok: $what"; else failed=$((failed + 1)); log "FAILED: $what"; fi
}

if wants lint; then
  check "buf lint protos/" bash -c "cd protos && '$BUF' lint"
  check "buf format protos/" bash -c "cd protos && '$BUF' format --diff --exit-code"
  yaml=()
  for dir in k8s helm; do [ -d "$dir" ] && yaml+=("$dir"); done
  [ -f docker-compose.yml ] && yaml+=(docker-compose.yml)
  [ ${#yaml[@]} -gt 0 ] && check "yamllint ${yaml[*]}" yamllint -s "${yaml[@]}"
  check "dotnet format --verify-no-changes" dotnet format GrpcImages.sln --verify-no-changes -v quiet
fi

declare -A PROJECTS=(
  [unit]="tests/GrpcImages.ServiceDefaults.Tests tests/GrpcImages.Domain.Tests tests/GrpcImages.DeploymentTests"
  [integration]="tests/GrpcImages.IntegrationTests tests/GrpcImages.Console.Tests"
  [reliability]="tests/GrpcImages.ReliabilityTests"
  [e2e]="tests/GrpcImages.EndToEndTests"
)
dotnet_tiers=()
for tier in unit integration reliability e2e; do wants "$tier" && dotnet_tiers+=("$tier"); done
if [ ${#dotnet_tiers[@]} -gt 0 ]; then
  rm -rf TestResults
  log "dotnet build GrpcImages.sln"
  if ! dotnet build GrpcImages.sln -nologo -v quiet; then
    failed=$((failed + 1)); log "FAILED: dotnet build"
  else
    # The fault tests add one row per fault run here; printed as a table after the tier.
    export GRPCIMAGES_RELIABILITY_SUMMARY="$ROOT/TestResults/reliability-summary.tsv"
    # One project at a time: the machine has two cores, and fault tests must not fight another suite for them.
    for tier in "${dotnet_tiers[@]}"; do
      for project in ${PROJECTS[$tier]}; do
        name="$(basename "$project")"
        log "dotnet test $name ($tier)"
        dotnet test "$project" --no-build -nologo -v quiet --logger "trx;LogFilePrefix=$name" \
          --logger "console;verbosity=minimal" --results-directory TestResults --blame-hang-timeout 10m
        if ! compgen -G "TestResults/${name}*.trx" >/dev/null; then
          failed=$((failed + 1)); log "FAILED: $name wrote no results"
        fi
      done
      if [ "$tier" = reliability ] && [ -s "$GRPCIMAGES_RELIABILITY_SUMMARY" ]; then
        log "fault runs"
        { printf 'fault\truns\tsurvived\tinvariant violations\tnote\n'; sort "$GRPCIMAGES_RELIABILITY_SUMMARY"; } |
          awk -F'\t' '{ printf "    %-72s %5s %9s %21s  %s\n", $1, $2, $3, $4, $5 }'
      fi
    done
    shopt -s nullglob
    for file in TestResults/*.trx; do
      counters="$(grep -o '<Counters [^>]*>' "$file")"
      p="$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters")"
      f="$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")"
      passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
    done
  fi
fi

if wants smoke; then
  log "smoke test of scripts/run.sh"
  smoke="$(bash scripts/smoke.sh 2>&1)"
  echo "$smoke" | sed 's/^/    /'
  summary="$(tail -n 1 <<<"$smoke")"
  if [[ "$summary" =~ ^([0-9]+)\ passed,\ ([0-9]+)\ failed$ ]]; then
    passed=$((passed + BASH_REMATCH[1])); failed=$((failed + BASH_REMATCH[2]))
  else
    failed=$((failed + 1))
  fi
fi

# The failed tests again, with their messages, last: CI shows only the end of what this prints.
if [ "$failed" -gt 0 ] && compgen -G "TestResults/*.trx" >/dev/null; then
  log "failed tests"
  perl -0777 -ne '
    while (/<UnitTestResult\b([^>]*\boutcome="Failed"[^>]*)>(.*?)<\/UnitTestResult>/gs) {
      my ($attrs, $body) = ($1, $2);
      my ($name) = $attrs =~ /testName="([^"]*)"/;
      my ($message) = $body =~ /<Message>(.*?)<\/Message>/s;
      $message //= "";
      for ($name, $message) { s/&lt;/</g; s/&gt;/>/g; s/&quot;/"/g; s/&apos;/\x27/g; s/&amp;/&/g; }
      my @lines = (split /\n/, $message)[0 .. 7];
      print "    $name\n", map { defined $_ ? "        $_\n" : "" } @lines;
    }' TestResults/*.trx
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
