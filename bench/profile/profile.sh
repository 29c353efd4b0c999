#!/usr/bin/env bash
# Profiles one process of the API bench with perf while one scenario runs at 64 callers, then prints
# its CPU per call by layer (bench/README.md, "Where the time goes").
#   bench/profile/profile.sh catalog "GetImage (own"     # the catalog under GetImage
#   bench/profile/profile.sh baseline "GetImage (own"    # the baseline in the same scenario's pair
set -euo pipefail
who=$1 scenario=$2
cd "$(dirname "$0")/../.."
command -v perf >/dev/null || apt-get install -y -q linux-perf >/dev/null
work=$(mktemp -d)
export DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0 BENCH_PIDS=$work/pids
prime=${PRIME:-10} # seconds the scenario runs unmeasured first (ApiBench --prime)
scripts/bench.sh --only "$scenario" --runs 1 --seconds 12 --callers 64 --prime "$prime" >"$work/bench.log" 2>&1 &
bench=$!
until [ -s "$work/pids" ]; do sleep 0.5; done
# The baseline's prime, then the scenario's, then each run is 2 s of warm-up and 12 s of load, the baseline's first.
if [ "$who" = baseline ]; then
  sleep $((2 * prime + 3)).5; pid=$(pgrep -f "GrpcImages.Bench.dll baseline")
else
  sleep $((2 * prime + 17)).5; pid=$(grep -i "^$who " "$work/pids" | cut -d' ' -f2)
fi
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
before=$(ticks "$pid")
perf record -F 499 -g -p "$pid" -o "$work/perf.data" -- sleep 9 >/dev/null 2>&1
after=$(ticks "$pid")
wait "$bench"
grep -A1 "^scenario" "$work/bench.log" | tail -1
row=$(grep -A1 "^scenario" "$work/bench.log" | tail -1)
# calls/s of the profiled side: the scenario's column 3 from the end's 7th, or the baseline's column
if [ "$who" = baseline ]; then rate=$(awk '{print $(NF-3)}' <<<"$row"); else rate=$(awk '{print $(NF-6)}' <<<"$row"); fi
python3 bench/profile/layers.py "$work/perf.data" "$(( (after - before) * 10000 ))" "$rate" 9
echo "perf data: $work/perf.data"
