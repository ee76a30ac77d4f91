#!/usr/bin/env bash
# Lull's demo `GET /` against minimal hello servers written with what users would pick instead
# (bench/peers/: raw Netty answering on the event loop, Jetty 12 on virtual threads, the JDK's
# HttpServer with a virtual thread per request, Go net/http when `go` is installed), in one run:
#   1. throughput: wrk on loopback at each connection count, interleaved rounds (req/s, p50/p99,
#      server CPU per request), then each server's RSS after that load;
#   2. lifecycle: interleaved cold starts under socket activation (systemd-socket-activate starts the
#      server on the first connection; time from that connection to the full first response), the
#      idle RSS after the first request, SIGTERM-to-exit when idle, and the JVM floor (java -version);
#      the JVM peers also with a JDK AOT cache (trained once per jar, see AOT below);
# then prints a table of medians and ratios to Lull and to raw Netty, writes it into
# docs/BENCHMARKS.md (between the bench:peers markers) and draws docs/bench-ratios.png.
#
#   bench/run.sh                                   # everything with the defaults (about 10 minutes)
#   ROUNDS=1 DURATION=3s WARMUP=2s COLD_RUNS=2 LABEL="smoke run" bench/run.sh   # a 3-minute check
#   PEERS=netty COLD=0 bench/run.sh                # issue 2's original run: Lull against raw Netty only
#   LULL_B_JAVA_OPTS="-Djdk.virtualThreadScheduler.parallelism=1" bench/run.sh   # adds a 2nd Lull variant
#
# Environment (all optional):
#   PEERS="netty jetty jdk go"   peers measured besides Lull (go is skipped with a note without `go`)
#   ROUNDS=3          interleaved rounds per connection count (A B C ..., the order rotating each
#                     round); medians are over rounds
#   DURATION=10s      length of each measured wrk run
#   WARMUP=5s         wrk run against each server before measuring (JIT warm-up), at the first N
#   CONNS="64 256"    keep-alive connection counts
#   THREADS=1         wrk threads (-t)
#   PIN=0             1: servers on CPU 0 (taskset -c 0) and wrk on CPU 1; 0: everything unpinned
#   JAVA_OPTS=        extra JVM flags for ALL JVM servers (e.g. -Xmx256m); Lull gets them via LULL_JAVA_OPTS
#   LULL_ARGS=        extra flags for `lull demo` (e.g. --io-threads 1)
#   LULL_B_JAVA_OPTS=, LULL_B_ARGS=   when either is set, a second Lull ("lull-b") runs with these
#                     JVM flags / demo flags added, measured in the same rounds (for A/B experiments)
#   NETTY_THREADS=0   event-loop threads of the Netty peer (0 = one per CPU, like Lull's default)
#   COLD=1            0: skip the lifecycle part (cold starts, idle RSS, SIGTERM-to-exit)
#   COLD_RUNS=5       measured cold starts per server (after one unmeasured start each); medians
#   COLD_IDLE=1       seconds each cold-started server is left idle before its RSS is read and it
#                     gets SIGTERM
#   AOT="netty jetty jdk"   JVM peers also cold-started with a JDK AOT cache ("<peer>-aot"); "" = none
#   SKIP_BUILD=0      1: use the jars already built (./lull still rebuilds lull.jar when sources are newer)
#   DOCS=1            0: do not touch docs/BENCHMARKS.md and docs/bench-ratios.png
#   LABEL=            a note put above the table in the docs, e.g. "smoke run on a loaded machine"
#   REPORT_ONLY=bench/out/<timestamp>   only redo the report of that earlier run (tables, docs, chart)
#   OUT=bench/out/<timestamp>   raw outputs: wrk outputs, server logs, results.tsv, cold.tsv, rss.tsv,
#                     summary.txt, summary.md, bench-ratios.png (bench/out/ is git-ignored)
#
# Every JVM gets the flags Lull's launcher uses: -XX:+UseSerialGC -Xms16m -Xmx256m -Dio.netty.jfr.enabled=false
# --enable-native-access=ALL-UNNAMED (the peers get them spelled out below), plus JAVA_OPTS. Lull is
# always started through ./lull, so whatever the launcher does (e.g. its own AOT cache) is measured;
# the cold starts also run "lull-jar", the same jar started with plain `java -jar` and the same flags.
# Server CPU per request = (utime+stime of the server process over one wrk run, from /proc/PID/stat)
# / requests completed in that run; it counts every thread of the process (event loops, carriers of
# the virtual threads, JIT, GC). cs/req = context switches of all its threads per request; idle =
# share of the whole machine's CPU time left idle during the run (near 0: the machine was saturated).
#
# AOT: JDK 25's -XX:AOTCacheOutput training run is one socket-activated start with 200 requests, then
# SIGTERM (the cache is written at exit). The cache file is keyed to the sha256 of the jar, the JVM's
# version and the flags (bench/out/aot/), because JDK 25 before 25.0.4 does not reject a stale cache.
#
# Needs: wrk, systemd-socket-activate (package systemd), python3; optional: go (golang-go),
# python3-matplotlib for the chart. Not part of `./lull test`.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PEERS=${PEERS-netty jetty jdk go}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-5s}
CONNS=${CONNS:-64 256}
THREADS=${THREADS:-1}
PIN=${PIN:-0}
JAVA_OPTS=${JAVA_OPTS:-}
LULL_ARGS=${LULL_ARGS:-}
LULL_B_JAVA_OPTS=${LULL_B_JAVA_OPTS:-}
LULL_B_ARGS=${LULL_B_ARGS:-}
NETTY_THREADS=${NETTY_THREADS:-0}
COLD=${COLD:-1}
COLD_RUNS=${COLD_RUNS:-5}
COLD_IDLE=${COLD_IDLE:-1}
AOT=${AOT-netty jetty jdk}
SKIP_BUILD=${SKIP_BUILD:-0}
DOCS=${DOCS:-1}
LABEL=${LABEL:-}
OUT=${OUT:-$ROOT/bench/out/$(date +%Y%m%d-%H%M%S)}

die() { echo "bench: $*" >&2; exit 1; }
log() { echo "bench: $*" >&2; }

report_python() { # the python3 that has matplotlib (Debian's python3-matplotlib serves /usr/bin/python3)
  local py
  for py in python3 /usr/bin/python3; do
    if command -v "$py" >/dev/null 2>&1 && "$py" -c 'import matplotlib' 2>/dev/null; then echo "$py"; return; fi
  done
  echo python3
}

if [ -n "${REPORT_ONLY:-}" ]; then # redo the report (tables, docs, chart) of an earlier run
  [ -f "$REPORT_ONLY/report.env" ] || die "no $REPORT_ONLY/report.env"
  # shellcheck disable=SC1091
  source "$REPORT_ONLY/report.env"
  BENCH_OUT=$(cd "$REPORT_ONLY" && pwd) BENCH_DOCS=$DOCS BENCH_LABEL=${LABEL:-$BENCH_LABEL} \
    exec "$(report_python)" "$ROOT/bench/report.py"
fi
has() { case " $PEERS " in *" $1 "*) return 0 ;; esac; return 1; }

command -v wrk >/dev/null 2>&1 ||
  die "wrk not found; install it with: sudo apt-get install wrk   (Debian/Ubuntu package 'wrk')"
command -v python3 >/dev/null 2>&1 || die "python3 not found (it measures cold starts and writes the report)"
if [ "$COLD" = 1 ]; then
  command -v systemd-socket-activate >/dev/null 2>&1 ||
    die "systemd-socket-activate not found (Debian package systemd); or run with COLD=0"
fi
NOTES=()
if has go && ! command -v go >/dev/null 2>&1; then
  NOTES+=("Go net/http skipped: no \`go\` on PATH (Debian package golang-go)")
  log "${NOTES[-1]}"
  PEERS=$(echo " $PEERS " | sed 's/ go / /; s/^ *//; s/ *$//')
fi
for p in $PEERS; do
  case "$p" in netty | jetty | jdk | go) ;; *) die "unknown peer '$p' in PEERS (netty jetty jdk go)" ;; esac
done
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
LAUNCHER_FLAGS=(-XX:+UseSerialGC -Xms16m -Xmx256m -XX:CompileThresholdScaling=10 -Dio.netty.jfr.enabled=false --enable-native-access=ALL-UNNAMED)
# The demo must not exit when idle (its default idle timeout) while the other servers are measured;
# its job store goes under OUT so that runs never share one.
DEMO_FLAGS=(--idle-timeout 0)
PEER_DIR="$ROOT/bench/peers"
declare -A JAR=(
  [netty]="$PEER_DIR/netty-hello/target/netty-hello.jar"
  [jetty]="$PEER_DIR/jetty-hello/target/jetty-hello.jar"
  [jdk]="$PEER_DIR/jdk-hello/target/jdk-hello.jar"
)
GO_BIN="$PEER_DIR/go-hello/target/go-hello"
LULL_JAR="$ROOT/lull-cli/target/lull.jar"
# HttpServer cannot adopt a listening socket without this (see JdkHello.adopt).
JDK_OPENS=(--add-opens jdk.httpserver/sun.net.httpserver=ALL-UNNAMED)

mkdir -p "$OUT"
log "raw outputs go to $OUT"
STARTED_AT=$(date -u '+%Y-%m-%d %H:%M UTC')

# ---------------------------------------------------------------- build
if [ "$SKIP_BUILD" != 1 ]; then
  # `package`, not `./lull build` (= install): a benchmark must not replace the dev.lull snapshots in
  # ~/.m2 that other checkouts on the machine may build against. The peers are separate little
  # projects, not modules of the product's build.
  log "building Lull (lull-cli/target/lull.jar) and the peers: $PEERS"
  "$ROOT/mvnw" -B -q -f "$ROOT/pom.xml" -DskipTests -Dspotless.check.skip=true package -pl lull-cli -am \
    >"$OUT/build.log" 2>&1 ||
    { tail -30 "$OUT/build.log" >&2; die "building Lull failed (log: $OUT/build.log)"; }
  for p in netty jetty; do
    has "$p" || [[ " $AOT " == *" $p "* && "$COLD" = 1 ]] || continue
    "$ROOT/mvnw" -B -q -f "$PEER_DIR/$p-hello/pom.xml" package >>"$OUT/build.log" 2>&1 ||
      { tail -30 "$OUT/build.log" >&2; die "building the $p peer failed (log: $OUT/build.log)"; }
  done
  # Rebuilt only when its source changed, and reproducibly (--date): its AOT cache is keyed to the jar.
  if has jdk && [ ! "${JAR[jdk]}" -nt "$PEER_DIR/jdk-hello/src/bench/JdkHello.java" ]; then
    rm -rf "$PEER_DIR/jdk-hello/target"
    { "$JAVA_HOME/bin/javac" --release 21 -d "$PEER_DIR/jdk-hello/target/classes" \
        "$PEER_DIR/jdk-hello/src/bench/JdkHello.java" &&
      "$JAVA_HOME/bin/jar" --create --date 2000-01-01T00:00:02Z --file "${JAR[jdk]}" \
        --main-class bench.JdkHello -C "$PEER_DIR/jdk-hello/target/classes" .; } >>"$OUT/build.log" 2>&1 ||
      { tail -30 "$OUT/build.log" >&2; die "building the JDK HttpServer peer failed (log: $OUT/build.log)"; }
  fi
  if has go; then
    (cd "$PEER_DIR/go-hello" && go build -o target/go-hello .) >>"$OUT/build.log" 2>&1 ||
      { tail -30 "$OUT/build.log" >&2; die "building the Go peer failed (log: $OUT/build.log)"; }
  fi
fi
[ -f "$LULL_JAR" ] || die "missing $LULL_JAR (run without SKIP_BUILD=1)"
for p in $PEERS; do
  if [ "$p" = go ]; then f=$GO_BIN; else f=${JAR[$p]}; fi
  [ -f "$f" ] || die "missing $f (run without SKIP_BUILD=1)"
done

# ---------------------------------------------------------------- servers
SERVERS=(lull)
[ -z "$LULL_B_JAVA_OPTS$LULL_B_ARGS" ] || SERVERS+=(lull-b)
for p in $PEERS; do SERVERS+=("$p"); done
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
      "${SERVER_PIN[@]}" "$JAVA" $JAVA_OPTS "${LAUNCHER_FLAGS[@]}" -jar "${JAR[netty]}" "$port" 127.0.0.1 \
        "$NETTY_THREADS" >"$OUT/$name.log" 2>&1 &
      ;;
    jetty | jdk)
      "${SERVER_PIN[@]}" "$JAVA" $JAVA_OPTS "${LAUNCHER_FLAGS[@]}" -jar "${JAR[$name]}" "$port" 127.0.0.1 \
        >"$OUT/$name.log" 2>&1 &
      ;;
    go)
      "${SERVER_PIN[@]}" "$GO_BIN" "$port" 127.0.0.1 >"$OUT/$name.log" 2>&1 &
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

vm_rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; } # KiB

RSS="$OUT/rss.tsv"
printf 'server\twhen\trss_kib\n' >"$RSS"
# One after the other: when sources are newer than lull.jar, the first ./lull rebuilds it and the
# second must not build at the same time.
for s in "${SERVERS[@]}"; do
  start_server "$s"
  wait_ready "$s"
  printf '%s\tfirst\t%s\n' "$s" "$(vm_rss "${PID[$s]}")" >>"$RSS"
done

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
for s in "${SERVERS[@]}"; do printf '%s\tload\t%s\n' "$s" "$(vm_rss "${PID[$s]}")" >>"$RSS"; done
cleanup
STARTED=()

# ---------------------------------------------------------------- lifecycle
COLD_TSV="$OUT/cold.tsv"
printf 'server\tround\tfirst_ms\tidle_rss_kib\tterm_ms\texit\tfirst_cpu_ms\n' >"$COLD_TSV"
LIFECYCLE=(python3 "$ROOT/bench/lifecycle.py")

cold_cmd() { # NAME: sets CMD to the command systemd-socket-activate starts (inherits fd 3)
  local name=$1 base=${1%-aot} aot=() sh0=(sh -c 'exec "$0" "$@" 0<&3 3<&-')
  # AOTMode=on: a cache the JVM cannot use is an error, not a silent start without it.
  [ "$name" = "$base" ] || aot=(-XX:AOTMode=on "-XX:AOTCache=${AOT_FILE[$base]}")
  # shellcheck disable=SC2206
  case "$base" in
    lull) CMD=(env "LULL_JAVA_OPTS=$JAVA_OPTS" "$ROOT/lull" demo --listen systemd --jobs-dir "$OUT/jobs-cold-lull"
               $LULL_ARGS) ;;
    lull-b) CMD=(env "LULL_JAVA_OPTS=$JAVA_OPTS $LULL_B_JAVA_OPTS" "$ROOT/lull" demo --listen systemd
                 --jobs-dir "$OUT/jobs-cold-lull-b" $LULL_ARGS $LULL_B_ARGS) ;;
    lull-jar) CMD=("$JAVA" "${LAUNCHER_FLAGS[@]}" $JAVA_OPTS -jar "$LULL_JAR" demo --listen systemd
                   --jobs-dir "$OUT/jobs-cold-lull-jar" $LULL_ARGS) ;;
    # Netty adopts fd 3 itself (EpollServerSocketChannel(fd), made non-blocking).
    netty) CMD=("$JAVA" $JAVA_OPTS "${LAUNCHER_FLAGS[@]}" "${aot[@]}" -jar "${JAR[netty]}" systemd 127.0.0.1
                "$NETTY_THREADS") ;;
    # Jetty and HttpServer take System.inheritedChannel(), which is fd 0 only: the shell moves 3 to 0.
    jetty) CMD=("${sh0[@]}" "$JAVA" $JAVA_OPTS "${LAUNCHER_FLAGS[@]}" "${aot[@]}" -jar "${JAR[jetty]}" inherited) ;;
    jdk) CMD=("${sh0[@]}" "$JAVA" $JAVA_OPTS "${LAUNCHER_FLAGS[@]}" "${JDK_OPENS[@]}" "${aot[@]}" -jar "${JAR[jdk]}"
              inherited) ;;
    go) CMD=("$GO_BIN" systemd) ;;
    *) die "no cold-start command for $name" ;;
  esac
}

LOAD_COLD_AFTER=
if [ "$COLD" = 1 ]; then
  VARIANTS=(lull)
  [ -z "$LULL_B_JAVA_OPTS$LULL_B_ARGS" ] || VARIANTS+=(lull-b)
  VARIANTS+=(lull-jar)
  # Lull's launcher keeps its own AOT cache (keyed to the jar and the flags); train it now, so that
  # no background training runs in the middle of the measurements.
  LULL_JAVA_OPTS="$JAVA_OPTS" "$ROOT/lull" aot >"$OUT/aot-train-lull.log" 2>&1 ||
    log "lull aot failed (see $OUT/aot-train-lull.log); Lull cold-starts without a cache"
  if [ -n "$LULL_B_JAVA_OPTS" ]; then
    LULL_JAVA_OPTS="$JAVA_OPTS $LULL_B_JAVA_OPTS" "$ROOT/lull" aot >"$OUT/aot-train-lull-b.log" 2>&1 || true
  fi
  declare -A AOT_FILE
  JVM_ID=$("$JAVA" -version 2>&1 | tr '\n' ' ')
  mkdir -p "$ROOT/bench/out/aot"
  for p in $PEERS; do
    VARIANTS+=("$p")
    [[ " $AOT " == *" $p "* && "$p" != go ]] || continue
    # JDK 25 before 25.0.4 does not reject a stale cache: key it to the jar, the JVM and the flags.
    key=$( { sha256sum <"${JAR[$p]}"; echo "$JVM_ID $JAVA_OPTS ${LAUNCHER_FLAGS[*]}"; } | sha256sum | cut -c1-16)
    AOT_FILE[$p]="$ROOT/bench/out/aot/$p-$key.aot"
    if [ ! -s "${AOT_FILE[$p]}" ]; then
      log "AOT training run for $p (cache ${AOT_FILE[$p]#"$ROOT"/})"
      cold_cmd "$p"
      TRAIN=()
      for a in "${CMD[@]}"; do
        [ "$a" != -jar ] || TRAIN+=("-XX:AOTCacheOutput=${AOT_FILE[$p]}.tmp")
        TRAIN+=("$a")
      done
      CMD=("${TRAIN[@]}")
      "${LIFECYCLE[@]}" cold "$OUT/aot-train-$p.log" --train 200 --idle 0.2 -- "${CMD[@]}" >/dev/null ||
        die "AOT training run of $p failed (log: $OUT/aot-train-$p.log)"
      [ -s "${AOT_FILE[$p]}.tmp" ] || die "AOT training run of $p wrote no cache (log: $OUT/aot-train-$p.log)"
      mv "${AOT_FILE[$p]}.tmp" "${AOT_FILE[$p]}"
    fi
    VARIANTS+=("$p-aot")
  done
  log "cold starts under socket activation: ${VARIANTS[*]} and java -version;" \
    "1 unmeasured + $COLD_RUNS measured each, interleaved"
  NV=${#VARIANTS[@]}
  for r in $(seq 0 "$COLD_RUNS"); do
    for i in $(seq 0 $((NV - 1))); do
      v=${VARIANTS[$(((i + r) % NV))]}
      cold_cmd "$v"
      if line=$("${LIFECYCLE[@]}" cold "$OUT/cold-$v-$r.log" --idle "$COLD_IDLE" -- "${CMD[@]}"); then
        printf '%s\t%s\t%s\n' "$v" "$r" "$line" >>"$COLD_TSV"
        [ "$r" = 0 ] || log "$(printf '%-9s cold %s: %s' "$v" "$r" "$(awk -F'\t' '{ printf "first response %8.1f ms  idle RSS %6.1f MiB  SIGTERM-to-exit %7.1f ms", $1, $2 / 1024, $3 }' <<<"$line")")"
      else
        NOTES+=("cold start $r of $v failed (log: ${OUT#"$ROOT"/}/cold-$v-$r.log)")
        log "${NOTES[-1]}"
      fi
    done
    f=$("${LIFECYCLE[@]}" run -- "$JAVA" -version) && printf 'java-floor\t%s\t%s\t\t\t0\n' "$r" "$f" >>"$COLD_TSV"
  done
  LOAD_COLD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)
fi

# ---------------------------------------------------------------- report
CMD_LINE="ROUNDS=$ROUNDS DURATION=$DURATION WARMUP=$WARMUP CONNS=\"$CONNS\" THREADS=$THREADS PIN=$PIN"
[ "$PEERS" = "netty jetty jdk go" ] || CMD_LINE+=" PEERS=\"$PEERS\""
[ "$COLD" = 1 ] && CMD_LINE+=" COLD_RUNS=$COLD_RUNS COLD_IDLE=$COLD_IDLE" || CMD_LINE+=" COLD=0"
[ "$AOT" = "netty jetty jdk" ] || CMD_LINE+=" AOT=\"$AOT\""
[ -z "$JAVA_OPTS" ] || CMD_LINE+=" JAVA_OPTS=\"$JAVA_OPTS\""
[ -z "$LULL_ARGS" ] || CMD_LINE+=" LULL_ARGS=\"$LULL_ARGS\""
[ -z "$LULL_B_JAVA_OPTS" ] || CMD_LINE+=" LULL_B_JAVA_OPTS=\"$LULL_B_JAVA_OPTS\""
[ -z "$LULL_B_ARGS" ] || CMD_LINE+=" LULL_B_ARGS=\"$LULL_B_ARGS\""
CMD_LINE+=" bench/run.sh"

# The chart needs matplotlib: python3 on PATH may be another installation than Debian's, which
# python3-matplotlib serves.
REPORT_PY=$(report_python)
CHART=1
if ! "$REPORT_PY" -c 'import matplotlib' 2>/dev/null; then
  CHART=0
  NOTES+=("no chart: matplotlib is missing (Debian package python3-matplotlib)")
  log "${NOTES[-1]}"
fi

export BENCH_OUT="$OUT" BENCH_ROOT="$ROOT" BENCH_DATE="$STARTED_AT" BENCH_CMD="$CMD_LINE" BENCH_LABEL="$LABEL" BENCH_DOCS="$DOCS" \
  BENCH_CHART="$CHART" BENCH_SERVERS="${SERVERS[*]}" BENCH_CONNS="$CONNS" BENCH_ROUNDS="$ROUNDS" \
  BENCH_DURATION="$DURATION" BENCH_THREADS="$THREADS" BENCH_PIN="$PIN" BENCH_COLD_RUNS="$COLD_RUNS" \
  BENCH_COLD_IDLE="$COLD_IDLE" BENCH_LOAD_BEFORE="$LOAD_BEFORE" BENCH_LOAD_AFTER="$LOAD_AFTER" \
  BENCH_LOAD_COLD_AFTER="$LOAD_COLD_AFTER" \
  BENCH_JVM="$("$JAVA" -version 2>&1 | head -1)" \
  BENCH_MACHINE="$(nproc) CPUs ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)), $(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(uname -sr)" \
  BENCH_WRK="$( (wrk -v 2>&1 || true) | head -1 | awk '{ print $1, $2 }')" \
  BENCH_GO="$( (command -v go >/dev/null && go version) || true)" \
  BENCH_JVM_FLAGS="${LAUNCHER_FLAGS[*]}${JAVA_OPTS:+ $JAVA_OPTS}" \
  BENCH_NOTES="$(printf '%s\n' "${NOTES[@]}")"
# Kept so that REPORT_ONLY=<this OUT> bench/run.sh can redo the report from the raw outputs.
declare -p ${!BENCH_*} | sed 's/^declare -x /declare -gx /' >"$OUT/report.env"
"$REPORT_PY" "$ROOT/bench/report.py"
log "raw outputs: $OUT"
