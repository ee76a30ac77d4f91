#!/usr/bin/env bash
# Lull's demo `GET /` against a raw Netty hello-world server (same Netty, answers on the event loop),
# in one run, interleaved, with wrk on loopback. Prints a table of medians and the ratios to Netty,
# then the same as Markdown for docs/BENCHMARKS.md.
#
#   bench/run.sh                                   # defaults: 3 rounds of 10 s at 64 and 256 connections
#   ROUNDS=5 DURATION=20s CONNS="64 256" bench/run.sh
#   LULL_B_JAVA_OPTS="-Djdk.virtualThreadScheduler.parallelism=1" bench/run.sh   # adds a 2nd Lull variant
#
# Environment (all optional):
#   ROUNDS=3          interleaved rounds per connection count (A B A B ..., the order rotating each
#                     round); medians are over rounds
#   DURATION=10s      length of each measured wrk run
#   WARMUP=10s        wrk run against each server before measuring (JIT warm-up), at the first N
#   CONNS="64 256"    keep-alive connection counts
#   THREADS=1         wrk threads (-t)
#   PIN=0             1: servers on CPU 0 (taskset -c 0) and wrk on CPU 1; 0: everything unpinned
#   JAVA_OPTS=        extra JVM flags for ALL servers (e.g. -Xmx256m); Lull gets them via LULL_JAVA_OPTS
#   LULL_ARGS=        extra flags for `lull demo` (e.g. --io-threads 1)
#   LULL_B_JAVA_OPTS=, LULL_B_ARGS=   when either is set, a second Lull ("lull-b") runs with these
#                     JVM flags / demo flags added, measured in the same rounds (for A/B experiments)
#   NETTY_THREADS=0   event-loop threads of the Netty peer (0 = one per CPU, like Lull's default)
#   SKIP_BUILD=0      1: use the jars already built (./lull still rebuilds lull.jar when sources are newer)
#   OUT=bench/out/<timestamp>   where raw wrk outputs, server logs and results.tsv are kept
#
# Every JVM gets the flags Lull's launcher uses: -XX:+UseSerialGC -Dio.netty.jfr.enabled=false
# --enable-native-access=ALL-UNNAMED (the Netty peer gets them spelled out below), plus JAVA_OPTS.
# Server CPU per request = (utime+stime of the server process over one wrk run, from /proc/PID/stat)
# / requests completed in that run; it counts every thread of the JVM (event loops, carriers of the
# virtual threads, JIT, GC). cs/req = context switches of all its threads per request; idle = share
# of the whole machine's CPU time left idle during the run (near 0: the machine was saturated).
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
LULL_B_JAVA_OPTS=${LULL_B_JAVA_OPTS:-}
LULL_B_ARGS=${LULL_B_ARGS:-}
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
# The demo must not exit when idle (its default idle timeout) while the other servers are measured;
# its job store goes under OUT so that runs never share one.
DEMO_FLAGS=(--idle-timeout 0)
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
SERVERS=(lull netty)
[ -z "$LULL_B_JAVA_OPTS$LULL_B_ARGS" ] || SERVERS=(lull lull-b netty)
declare -A PID PORT
STARTED=()
cleanup() {
  local p
  for p in "${STARTED[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${STARTED[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

free_port() { # a port nobody listens on and we have not handed out, from a range unlikely to be used
  local p used
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 20000))
    used=0
    for q in "${PORT[@]}"; do [ "$q" != "$p" ] || used=1; done
    [ "$used" = 0 ] && ! port_in_use "$p" && { echo "$p"; return 0; }
  done
  die "no free port found"
}

start_server() { # NAME
  local name=$1 port
  port=$(free_port)
  PORT[$name]=$port
  # ./lull execs java, so $! is the JVM itself (and so it is under taskset, which execs too).
  # shellcheck disable=SC2086
  case "$name" in
    lull)
      LULL_JAVA_OPTS="$JAVA_OPTS" "${SERVER_PIN[@]}" "$ROOT/lull" demo --listen "127.0.0.1:$port" \
        "${DEMO_FLAGS[@]}" --jobs-dir "$OUT/jobs-$name" $LULL_ARGS >"$OUT/$name.log" 2>&1 &
      ;;
    lull-b)
      LULL_JAVA_OPTS="$JAVA_OPTS $LULL_B_JAVA_OPTS" "${SERVER_PIN[@]}" "$ROOT/lull" demo \
        --listen "127.0.0.1:$port" "${DEMO_FLAGS[@]}" --jobs-dir "$OUT/jobs-$name" $LULL_ARGS $LULL_B_ARGS \
        >"$OUT/$name.log" 2>&1 &
      ;;
    netty)
      "${SERVER_PIN[@]}" "$JAVA" $JAVA_OPTS "${LAUNCHER_FLAGS[@]}" -jar "$PEER_JAR" "$port" 127.0.0.1 \
        "$NETTY_THREADS" >"$OUT/$name.log" 2>&1 &
      ;;
  esac
  PID[$name]=$!
  STARTED+=("$!")
}

wait_ready() { # NAME: listening, and answering 200 to GET /
  local name=$1 deadline=$((SECONDS + 60)) status
  until port_in_use "${PORT[$name]}"; do
    kill -0 "${PID[$name]}" 2>/dev/null || die "$name exited at start (log: $OUT/$name.log)"
    [ "$SECONDS" -lt "$deadline" ] || die "$name did not listen on port ${PORT[$name]} within 60 s"
    sleep 0.2
  done
  exec 3<>"/dev/tcp/127.0.0.1/${PORT[$name]}"
  printf 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' >&3
  status=$(head -1 <&3 | tr -d '\r')
  exec 3<&-
  case "$status" in "HTTP/1.1 200"*) ;; *) die "$name answered '$status' to GET /" ;; esac
}

# One after the other: when sources are newer than lull.jar, the first ./lull rebuilds it and the
# second must not build at the same time.
for s in "${SERVERS[@]}"; do start_server "$s"; wait_ready "$s"; done

# ---------------------------------------------------------------- measuring
CLK_TCK=$(getconf CLK_TCK)
cpu_ticks() { # utime+stime of PID, in clock ticks (fields 14 and 15; field 2 may contain spaces)
  local s
  s=$(cat "/proc/$1/stat") || die "server $1 is gone"
  s=${s##*) }
  awk '{ print $12 + $13 }' <<<"$s"
}

ctx_switches() { # voluntary + involuntary context switches summed over the threads of PID
  cat /proc/"$1"/task/*/status 2>/dev/null |
    awk '/^(non)?voluntary_ctxt_switches:/ { s += $2 } END { print s + 0 }'
}

cpu_idle() { # "idle total" jiffies of the whole machine, from /proc/stat
  awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print $5 + $6, t; exit }' /proc/stat
}

to_ms() { # wrk latency like 812.00us, 2.31ms, 1.02s, 3.00m -> milliseconds
  awk -v v="$1" 'BEGIN {
    n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
    if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000
    printf "%.3f", n }'
}

RESULTS="$OUT/results.tsv"
printf 'server\tconns\tround\treq_s\tp50_ms\tp99_ms\tcpu_us_per_req\terrors\tcs_per_req\tmachine_idle_pct\n' \
  >"$RESULTS"

run_wrk() { # NAME CONNS DURATION ROUND(or "warmup")
  local name=$1 conns=$2 dur=$3 round=$4 pid file t0 t1 cs0 cs1 i0 i1 rps reqs p50 p99 errs cpu cs idle
  pid=${PID[$name]}
  file="$OUT/wrk-$name-c$conns-$round.txt"
  t0=$(cpu_ticks "$pid"); cs0=$(ctx_switches "$pid"); i0=$(cpu_idle)
  "${WRK_PIN[@]}" wrk -t"$THREADS" -c"$conns" -d"$dur" --latency "http://127.0.0.1:${PORT[$name]}/" \
    >"$file" 2>&1 || die "wrk failed against $name: $(tail -3 "$file")"
  t1=$(cpu_ticks "$pid"); cs1=$(ctx_switches "$pid"); i1=$(cpu_idle)
  [ "$round" = warmup ] && return 0
  rps=$(awk '/^Requests\/sec:/ { print $2 }' "$file")
  reqs=$(awk '/requests in/ { print $1 }' "$file")
  p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' "$file")")
  p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' "$file")")
  errs=$(awk '/Socket errors:/ { gsub(/,/, ""); s += $4 + $6 + $8 + $10 }
              /Non-2xx or 3xx/ { s += $NF } END { print s + 0 }' "$file")
  [ -n "$rps" ] && [ -n "$reqs" ] && [ "$reqs" -gt 0 ] || die "cannot parse wrk output $file"
  cpu=$(awk -v d=$((t1 - t0)) -v hz="$CLK_TCK" -v n="$reqs" 'BEGIN { printf "%.2f", d / hz / n * 1e6 }')
  cs=$(awk -v d=$((cs1 - cs0)) -v n="$reqs" 'BEGIN { printf "%.3f", d / n }')
  idle=$(awk -v a="$i0" -v b="$i1" 'BEGIN { split(a, x, " "); split(b, y, " ");
                                           printf "%.1f", 100 * (y[1] - x[1]) / (y[2] - x[2]) }')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$conns" "$round" "$rps" "$p50" "$p99" "$cpu" \
    "$errs" "$cs" "$idle" >>"$RESULTS"
  log "$(printf '%-6s c=%-4s round %s: %7.0f req/s  p50 %6.2f ms  p99 %7.2f ms  %6.2f us/req  %.2f cs/req  idle %4.1f%%%s' \
    "$name" "$conns" "$round" "$rps" "$p50" "$p99" "$cpu" "$cs" "$idle" \
    "$([ "$errs" = 0 ] || echo "  ERRORS $errs")")"
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
log "servers: ${SERVERS[*]}; load average before: $LOAD_BEFORE; results in $OUT"
FIRST_CONNS=${CONNS%% *}
log "warming up each server for $WARMUP at $FIRST_CONNS connections"
for s in "${SERVERS[@]}"; do run_wrk "$s" "$FIRST_CONNS" "$WARMUP" warmup; done

N=${#SERVERS[@]}
for c in $CONNS; do
  for r in $(seq 1 "$ROUNDS"); do
    # Rotate the order so that no server always runs right after the same other one.
    for i in $(seq 0 $((N - 1))); do
      run_wrk "${SERVERS[$(((i + r - 1) % N))]}" "$c" "$DURATION" "$r"
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
CMD="ROUNDS=$ROUNDS DURATION=$DURATION WARMUP=$WARMUP CONNS=\"$CONNS\" THREADS=$THREADS PIN=$PIN"
[ -z "$JAVA_OPTS" ] || CMD+=" JAVA_OPTS=\"$JAVA_OPTS\""
[ -z "$LULL_ARGS" ] || CMD+=" LULL_ARGS=\"$LULL_ARGS\""
[ -z "$LULL_B_JAVA_OPTS" ] || CMD+=" LULL_B_JAVA_OPTS=\"$LULL_B_JAVA_OPTS\""
[ -z "$LULL_B_ARGS" ] || CMD+=" LULL_B_ARGS=\"$LULL_B_ARGS\""
CMD+=" bench/run.sh"

{
  echo
  echo "GET / medians of $ROUNDS interleaved rounds of $DURATION, wrk -t$THREADS; ratios are to netty"
  printf '%-6s %-7s %9s %6s %9s %9s %9s %6s %7s %6s\n' \
    conns server req/s ratio p50 p99 us/req ratio cs/req idle%
  for c in $CONNS; do
    nr=$(med netty "$c" 4); nc=$(med netty "$c" 7)
    for s in "${SERVERS[@]}"; do
      r=$(med "$s" "$c" 4); u=$(med "$s" "$c" 7)
      printf '%-6s %-7s %9.0f %6s %7.2fms %7.2fms %9.2f %6s %7.2f %6.1f\n' "$c" "$s" "$r" "$(ratio "$r" "$nr")" \
        "$(med "$s" "$c" 5)" "$(med "$s" "$c" 6)" "$u" "$(ratio "$u" "$nc")" "$(med "$s" "$c" 9)" \
        "$(med "$s" "$c" 10)"
    done
  done
  echo "socket errors + non-2xx responses over all runs: $ERRORS"
  echo
  echo "--- Markdown ---"
  echo
  echo "| connections | server | req/s | throughput vs Netty | p50 | p99 | server CPU/request | CPU vs Netty |"
  echo "|---:|---|---:|---:|---:|---:|---:|---:|"
  for c in $CONNS; do
    nr=$(med netty "$c" 4); nc=$(med netty "$c" 7)
    for s in "${SERVERS[@]}"; do
      r=$(med "$s" "$c" 4); u=$(med "$s" "$c" 7)
      printf '| %s | %s | %.0f | %s | %.2f ms | %.2f ms | %.1f us | %s |\n' "$c" "$s" "$r" \
        "$([ "$s" = netty ] && echo 1 || echo "**$(ratio "$r" "$nr")x**")" "$(med "$s" "$c" 5)" \
        "$(med "$s" "$c" 6)" "$u" "$([ "$s" = netty ] && echo 1 || echo "$(ratio "$u" "$nc")x")"
    done
  done
  echo
  echo "- command: \`$CMD\`"
  echo "- machine: $MACHINE; $JVER; $WRKV; load average before $LOAD_BEFORE, after $LOAD_AFTER"
  echo "- JVM flags (every server): ${LAUNCHER_FLAGS[*]}${JAVA_OPTS:+ $JAVA_OPTS}$([ -z "$LULL_B_JAVA_OPTS" ] ||
    echo "; lull-b adds $LULL_B_JAVA_OPTS")$([ -z "$LULL_B_ARGS" ] || echo "; lull-b demo flags $LULL_B_ARGS")"
  echo "- servers $([ "$PIN" = 1 ] && echo "pinned to CPU 0, wrk to CPU 1" || echo "and wrk unpinned");" \
    "socket errors + non-2xx responses: $ERRORS; raw outputs: ${OUT#"$ROOT"/}"
} | tee "$OUT/summary.md"
