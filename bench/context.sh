#!/usr/bin/env bash
# What the request context costs under load: the demo's GET / against GET /ctx (the same handler,
# plus an onCancel callback registered on its request context and removed) and GET /ctx/deadline
# (the same handler on a route with a 30 s timeout: a context and a timer on every request), on one
# server, with wrk on loopback, interleaved. Prints medians and the load of the machine.
#
#   bench/context.sh                         # 3 rounds of 10 s at 64 connections
#   ROUNDS=5 DURATION=20s bench/context.sh
#
# Environment (all optional):
#   ROUNDS=3        interleaved rounds (the order of the two paths alternates); medians over rounds
#   DURATION=10s    each measured wrk run      WARMUP=10s   one wrk run per path before measuring
#   CONNS=64        keep-alive connections     THREADS=1    wrk threads
#   SKIP_BUILD=0    1: use lull-cli/target/lull.jar as it is
#   OUT=bench/out/context-<timestamp>   raw wrk outputs, server logs, results.tsv
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-10s}
CONNS=${CONNS:-64}
THREADS=${THREADS:-1}
SKIP_BUILD=${SKIP_BUILD:-0}
OUT=${OUT:-$ROOT/bench/out/context-$(date +%Y%m%d-%H%M%S)}

die() { echo "context: $*" >&2; exit 1; }
log() { echo "context: $*" >&2; }

command -v wrk >/dev/null 2>&1 || die "wrk not found (Debian/Ubuntu package 'wrk')"
JAVA_HOME=$("$ROOT/lull" java-home) || die "no JDK >= 21 found (see ./lull)"
JAR="$ROOT/lull-cli/target/lull.jar"
mkdir -p "$OUT"

if [ "$SKIP_BUILD" != 1 ]; then
  log "building lull-cli/target/lull.jar"
  JAVA_HOME="$JAVA_HOME" "$ROOT/mvnw" -B -q -f "$ROOT/pom.xml" -DskipTests -Dspotless.check.skip=true \
    package -pl lull-cli -am >"$OUT/build.log" 2>&1 || { tail -30 "$OUT/build.log" >&2; die "build failed"; }
fi
[ -f "$JAR" ] || die "missing $JAR (run without SKIP_BUILD=1)"

PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start() { # NAME ARGS... ; sets PORT_OF[NAME] (not in a subshell: the PID must reach cleanup)
  local name=$1 port=
  shift
  # The flags of ./lull's exec line; port 0, read back from the log.
  "$JAVA_HOME/bin/java" -XX:+UseSerialGC -Dio.netty.jfr.enabled=false --enable-native-access=ALL-UNNAMED \
    -jar "$JAR" demo --listen 127.0.0.1:0 --idle-timeout 0 "$@" >"$OUT/$name.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 200); do
    port=$(sed -n 's|.*listening: .* on /127\.0\.0\.1:\([0-9]*\).*|\1|p' "$OUT/$name.log" | head -1)
    [ -n "$port" ] && { PORT_OF[$name]=$port; return 0; }
    sleep 0.1
  done
  die "$name did not start (log: $OUT/$name.log)"
}

rps() { # FILE -> requests/s as wrk printed it
  sed -n 's/^Requests\/sec: *//p' "$1"
}

run() { # LABEL URL ROUND
  local f="$OUT/$1.$3.txt"
  wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency "$2" >"$f"
  grep -q "Non-2xx" "$f" && die "$1: non-2xx answers (see $f)"
  printf '%s\t%s\t%s\n' "$1" "$3" "$(rps "$f")" >>"$OUT/results.tsv"
}

declare -A PORT_OF
start lull
BASE="http://127.0.0.1:${PORT_OF[lull]}"
TARGETS=("root|$BASE/" "ctx|$BASE/ctx" "deadline|$BASE/ctx/deadline")

{
  echo "# $(date -u +%FT%TZ) $(uname -sr), $(nproc) CPUs, $("$JAVA_HOME/bin/java" -version 2>&1 | head -1)"
  echo "# wrk -t$THREADS -c$CONNS -d$DURATION, $ROUNDS rounds; load before: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$OUT/header.txt" >&2

for t in "${TARGETS[@]}"; do
  log "warm-up ${t%%|*} ($WARMUP)"
  wrk -t"$THREADS" -c"$CONNS" -d"$WARMUP" "${t#*|}" >/dev/null
done
: >"$OUT/results.tsv"
for r in $(seq 1 "$ROUNDS"); do
  order=("${TARGETS[@]}")
  if [ $((r % 2)) = 0 ]; then # alternate which path goes first
    rev=()
    for ((i = ${#order[@]} - 1; i >= 0; i--)); do rev+=("${order[i]}"); done
    order=("${rev[@]}")
  fi
  for t in "${order[@]}"; do
    log "round $r: ${t%%|*}"
    run "${t%%|*}" "${t#*|}" "$r"
  done
done
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$OUT/header.txt" >&2

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
base=$(awk -F'\t' '$1=="root"{print $3}' "$OUT/results.tsv" | median)
printf '\n| path | requests/s (median of %s) | per round | vs GET / |\n|---|---|---|---|\n' "$ROUNDS"
for t in "${TARGETS[@]}"; do
  name=${t%%|*}
  m=$(awk -F'\t' -v n="$name" '$1==n{print $3}' "$OUT/results.tsv" | median)
  all=$(awk -F'\t' -v n="$name" '$1==n{printf "%s%s", sep, $3; sep=", "}' "$OUT/results.tsv")
  printf '| %s | %.0f | %s | %+.1f%% |\n' "$name" "$m" "$all" "$(awk -v a="$m" -v b="$base" 'BEGIN{print (a/b-1)*100}')"
done
log "raw outputs in $OUT"
