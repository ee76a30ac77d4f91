#!/usr/bin/env bash
# Lull's demo `GET /` against a raw Netty hello-world server (same Netty, answers on the event loop),
# in one run, interleaved, with wrk on loopback. Prints a table of medians and the ratios Lull/Netty,
# then the same as Markdown for docs/BENCHMARKS.md.
#
#   bench/run.sh                                   # defaults: 3 rounds of 10 s at 64 and 256 connections
#   ROUNDS=5 DURATION=20s CONNS="64 256" bench/run.sh
#
# Environment (all optional):
#   ROUNDS=3          interleaved rounds (A B A B ...) per connection count; medians are over rounds
#   DURATION=10s      length of each measured wrk run
#   WARMUP=10s        wrk run against each server before measuring (JIT warm-up), at the first N
#   CONNS="64 256"    keep-alive connection counts
#   THREADS=1         wrk threads (-t)
#   PIN=0             1: servers on CPU 0 (taskset -c 0) and wrk on CPU 1; 0: everything unpinned
#   JAVA_OPTS=        extra JVM flags for BOTH servers (e.g. -Xmx256m); Lull gets them via LULL_JAVA_OPTS
#   LULL_ARGS=        extra flags for `lull demo` (e.g. --io-threads 1)
#   NETTY_THREADS=0   event-loop threads of the Netty peer (0 = one per CPU, like Lull's default)
#   SKIP_BUILD=0      1: use the jars already built
#   OUT=bench/out/<timestamp>   where raw wrk outputs and results.tsv are kept
#
# Both JVMs get the flags Lull's launcher uses: -XX:+UseSerialGC -Dio.netty.jfr.enabled=false
# --enable-native-access=ALL-UNNAMED (the Netty peer gets them spelled out below), plus JAVA_OPTS.
# Server CPU per request = (utime+stime of the server process over one wrk run, from /proc/PID/stat)
# / requests completed in that run; it counts every thread of the JVM (event loops, virtual threads'
# carriers, JIT, GC).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-10s}
CONNS=${CONNS:-64 256}
THREADS=${THREADS:-1}
PIN=${PIN:-0}
JAVA_OPTS=${JAVA_OPTS:-}
LULL_ARGS=${LULL_ARGS:-}
NETTY_THREADS=${NETTY_THREADS:-0}
SKIP_BUILD=${SKIP_BUILD:-0}
OUT=${OUT:-$ROOT/bench/out/$(date +%Y%m%d-%H%M%S)}

die() { echo "bench: $*" >&2; exit 1; }
log() { echo "bench: $*" >&2; }

command -v wrk >/dev/null 2>&1 ||
  die "wrk not found; install it with: sudo apt-get install wrk   (Debian/Ubuntu package 'wrk')"
if [ "$PIN" = 1 ]; then
  command -v taskset >/dev/null 2>&1 || die "PIN=1 needs taskset (Debian package util-linux)"
  [ "$(nproc)" -ge 2 ] || die "PIN=1 needs at least 2 CPUs"
  SERVER_PIN=(taskset -c 0)
  WRK_PIN=(taskset -c 1)
else
  SERVER_PIN=()
  WRK_PIN=()
fi

JAVA_HOME=$("$ROOT/lull" java-home) || die "no JDK >= 21 found (see ./lull)"
export JAVA_HOME
JAVA="$JAVA_HOME/bin/java"
# Keep in step with the exec line of ./lull.
LAUNCHER_FLAGS=(-XX:+UseSerialGC -Dio.netty.jfr.enabled=false --enable-native-access=ALL-UNNAMED)
PEER_JAR="$ROOT/bench/peers/netty-hello/target/netty-hello.jar"
LULL_JAR="$ROOT/lull-cli/target/lull.jar"

mkdir -p "$OUT"

# ---------------------------------------------------------------- build
if [ "$SKIP_BUILD" != 1 ]; then
  log "building Lull (./lull build) and the Netty peer"
  "$ROOT/lull" build -q -Dspotless.check.skip=true >"$OUT/build.log" 2>&1 ||
    { tail -30 "$OUT/build.log" >&2; die "building Lull failed (log: $OUT/build.log)"; }
  "$ROOT/mvnw" -B -q -f "$ROOT/bench/peers/netty-hello/pom.xml" package >>"$OUT/build.log" 2>&1 ||
    { tail -30 "$OUT/build.log" >&2; die "building the Netty peer failed (log: $OUT/build.log)"; }
fi
[ -f "$LULL_JAR" ] || die "missing $LULL_JAR (run without SKIP_BUILD=1)"
[ -f "$PEER_JAR" ] || die "missing $PEER_JAR (run without SKIP_BUILD=1)"

# ---------------------------------------------------------------- servers
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

free_port() { # a port nobody listens on, from a range unlikely to be used
  local p
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 20000))
    port_in_use "$p" || { echo "$p"; return 0; }
  done
  die "no free port found"
}

wait_listening() { # PID PORT NAME
  local deadline=$((SECONDS + 60))
  until port_in_use "$2"; do
    kill -0 "$1" 2>/dev/null || die "$3 exited at start (log: $OUT/$3.log)"
    [ "$SECONDS" -lt "$deadline" ] || die "$3 did not listen on port $2 within 60 s"
    sleep 0.2
  done
}

LULL_PORT=$(free_port)
NETTY_PORT=$(free_port)
[ "$LULL_PORT" != "$NETTY_PORT" ] || NETTY_PORT=$(free_port)

# ./lull execs java, so $! is the JVM itself (and so is it under taskset, which execs too).
# shellcheck disable=SC2086
LULL_JAVA_OPTS="$JAVA_OPTS" "${SERVER_PIN[@]}" "$ROOT/lull" demo --listen "127.0.0.1:$LULL_PORT" $LULL_ARGS \
  >"$OUT/lull.log" 2>&1 &
LULL_PID=$!
PIDS+=("$LULL_PID")
# shellcheck disable=SC2086
"${SERVER_PIN[@]}" "$JAVA" $JAVA_OPTS "${LAUNCHER_FLAGS[@]}" -jar "$PEER_JAR" "$NETTY_PORT" 127.0.0.1 \
  "$NETTY_THREADS" >"$OUT/netty.log" 2>&1 &
NETTY_PID=$!
PIDS+=("$NETTY_PID")
wait_listening "$LULL_PID" "$LULL_PORT" lull
wait_listening "$NETTY_PID" "$NETTY_PORT" netty

# Both answer 200 to GET / before we measure anything.
for name in lull netty; do
  port=$([ "$name" = lull ] && echo "$LULL_PORT" || echo "$NETTY_PORT")
  exec 3<>"/dev/tcp/127.0.0.1/$port"
  printf 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' >&3
  status=$(head -1 <&3 | tr -d '\r')
  exec 3<&-
  case "$status" in "HTTP/1.1 200"*) ;; *) die "$name answered '$status' to GET /" ;; esac
done

# ---------------------------------------------------------------- measuring
CLK_TCK=$(getconf CLK_TCK)
cpu_ticks() { # utime+stime of PID, in clock ticks (fields 14 and 15; field 2 may contain spaces)
  local s
  s=$(cat "/proc/$1/stat") || die "server $1 is gone"
  s=${s##*) }
  awk '{ print $12 + $13 }' <<<"$s"
}

to_ms() { # wrk latency like 812.00us, 2.31ms, 1.02s, 3.00m -> milliseconds
  awk -v v="$1" 'BEGIN {
    n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
    if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000
    printf "%.3f", n }'
}

RESULTS="$OUT/results.tsv"
printf 'server\tconns\tround\treq_s\tp50_ms\tp99_ms\tcpu_us_per_req\terrors\n' >"$RESULTS"

run_wrk() { # NAME PORT CONNS DURATION ROUND(or "warmup")
  local name=$1 port=$2 conns=$3 dur=$4 round=$5 pid file t0 t1 rps p50 p99 reqs errs cpu
  pid=$([ "$name" = lull ] && echo "$LULL_PID" || echo "$NETTY_PID")
  file="$OUT/wrk-$name-c$conns-$round.txt"
  t0=$(cpu_ticks "$pid")
  "${WRK_PIN[@]}" wrk -t"$THREADS" -c"$conns" -d"$dur" --latency "http://127.0.0.1:$port/" >"$file" 2>&1 ||
    die "wrk failed against $name: $(tail -3 "$file")"
  t1=$(cpu_ticks "$pid")
  [ "$round" = warmup ] && return 0
  rps=$(awk '/^Requests\/sec:/ { print $2 }' "$file")
  reqs=$(awk '/requests in/ { print $1 }' "$file")
  p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$file")")
  p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$file")")
  errs=$(awk '/Socket errors:/ { gsub(/,/, ""); s += $4 + $6 + $8 + $10 }
              /Non-2xx or 3xx/ { s += $NF } END { print s + 0 }' "$file")
  [ -n "$rps" ] && [ -n "$reqs" ] && [ "$reqs" -gt 0 ] || die "cannot parse wrk output $file"
  cpu=$(awk -v d=$((t1 - t0)) -v hz="$CLK_TCK" -v n="$reqs" 'BEGIN { printf "%.2f", d / hz / n * 1e6 }')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$conns" "$round" "$rps" "$p50" "$p99" "$cpu" "$errs" \
    >>"$RESULTS"
  log "$(printf '%-5s c=%-4s round %s: %9.0f req/s  p50 %7.3f ms  p99 %7.3f ms  cpu %6.2f us/req%s' \
    "$name" "$conns" "$round" "$rps" "$p50" "$p99" "$cpu" "$([ "$errs" = 0 ] || echo "  ERRORS $errs")")"
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
log "load average before: $LOAD_BEFORE; results in $OUT"
FIRST_CONNS=${CONNS%% *}
log "warming up each server for $WARMUP at $FIRST_CONNS connections"
run_wrk lull "$LULL_PORT" "$FIRST_CONNS" "$WARMUP" warmup
run_wrk netty "$NETTY_PORT" "$FIRST_CONNS" "$WARMUP" warmup

for c in $CONNS; do
  for r in $(seq 1 "$ROUNDS"); do
    # Alternate which server goes first so that neither always follows the other's run.
    if [ $((r % 2)) = 1 ]; then order="lull netty"; else order="netty lull"; fi
    for name in $order; do
      port=$([ "$name" = lull ] && echo "$LULL_PORT" || echo "$NETTY_PORT")
      run_wrk "$name" "$port" "$c" "$DURATION" "$r"
    done
  done
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- report
median() { # reads numbers, one a line
  sort -g | awk '{ a[NR] = $1 } END { if (NR == 0) print "nan"; else if (NR % 2) print a[(NR + 1) / 2];
                                     else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}
med() { # SERVER CONNS COLUMN
  awk -F'\t' -v s="$1" -v c="$2" -v k="$3" 'NR > 1 && $1 == s && $2 == c { print $k }' "$RESULTS" | median
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "nan" }'; }

JVER=$("$JAVA" -version 2>&1 | head -1)
MACHINE="$(nproc) CPUs ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)), $(uname -sr)"
WRKV=$( (wrk -v 2>&1 || true) | head -1 | awk '{ print $1, $2 }')
ERRORS=$(awk -F'\t' 'NR > 1 { s += $8 } END { print s + 0 }' "$RESULTS")

{
  echo
  echo "Lull demo GET / vs raw Netty hello (medians of $ROUNDS interleaved rounds of $DURATION, wrk -t$THREADS)"
  printf '%-6s %12s %12s %7s %10s %10s %12s %12s %7s\n' \
    conns lull_req/s netty_req/s ratio lull_p99 netty_p99 lull_us/req netty_us/req ratio
  for c in $CONNS; do
    lr=$(med lull "$c" 4); nr=$(med netty "$c" 4)
    lp=$(med lull "$c" 6); np=$(med netty "$c" 6)
    lc=$(med lull "$c" 7); nc=$(med netty "$c" 7)
    printf '%-6s %12.0f %12.0f %7s %8.2fms %8.2fms %12.2f %12.2f %7s\n' \
      "$c" "$lr" "$nr" "$(ratio "$lr" "$nr")" "$lp" "$np" "$lc" "$nc" "$(ratio "$lc" "$nc")"
  done
  echo "socket errors + non-2xx responses over all runs: $ERRORS"
  echo
  echo "--- Markdown ---"
  echo
  echo "| connections | Lull req/s | Netty req/s | Lull/Netty throughput | Lull p99 | Netty p99 | Lull CPU/req | Netty CPU/req | Lull/Netty CPU/req |"
  echo "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  for c in $CONNS; do
    lr=$(med lull "$c" 4); nr=$(med netty "$c" 4)
    lp=$(med lull "$c" 6); np=$(med netty "$c" 6)
    lc=$(med lull "$c" 7); nc=$(med netty "$c" 7)
    printf '| %s | %.0f | %.0f | **%sx** | %.2f ms | %.2f ms | %.1f us | %.1f us | %sx |\n' \
      "$c" "$lr" "$nr" "$(ratio "$lr" "$nr")" "$lp" "$np" "$lc" "$nc" "$(ratio "$lc" "$nc")"
  done
  echo
  echo "- command: \`ROUNDS=$ROUNDS DURATION=$DURATION WARMUP=$WARMUP CONNS=\"$CONNS\" THREADS=$THREADS PIN=$PIN${JAVA_OPTS:+ JAVA_OPTS=\"$JAVA_OPTS\"}${LULL_ARGS:+ LULL_ARGS=\"$LULL_ARGS\"} bench/run.sh\`"
  echo "- machine: $MACHINE; $JVER; $WRKV; load average before $LOAD_BEFORE, after $LOAD_AFTER"
  echo "- JVM flags (both servers): ${LAUNCHER_FLAGS[*]}${JAVA_OPTS:+ $JAVA_OPTS}; servers $([ "$PIN" = 1 ] && echo "pinned to CPU 0, wrk to CPU 1" || echo "and wrk unpinned")"
  echo "- socket errors + non-2xx responses: $ERRORS; raw outputs: ${OUT#"$ROOT"/}"
} | tee "$OUT/summary.md"
