#!/usr/bin/env bash
# Interleaved A/B of socket-activated cold starts, through bench/lifecycle.py (docs/STARTUP.md).
#
#   contrib/startup/cold-ab.sh ROUNDS IDLE_S NAME 'COMMAND' [NAME 'COMMAND' ...]
#
# Each round starts every command once under systemd-socket-activate (round 0 is not counted: it
# warms the page cache), connects, reads the first response, waits IDLE_S seconds, reads VmRSS,
# sends SIGTERM. Prints per command the medians (and every round) of: first response (ms), CPU
# time of the server's threads when the first response had arrived (ms), idle RSS (MiB) and
# SIGTERM-to-exit (ms). Commands are evaluated by the shell, e.g.
#
#   contrib/startup/cold-ab.sh 6 1 \
#     default "env LULL_JAVA_OPTS= ./lull demo --listen systemd --jobs-dir /tmp/ab-jobs" \
#     c1 "env LULL_JAVA_OPTS= JDK_JAVA_OPTIONS=-XX:TieredStopAtLevel=1 ./lull demo --listen systemd --jobs-dir /tmp/ab-jobs"
#
# (JDK_JAVA_OPTIONS does not change the launcher's AOT cache key; LULL_JAVA_OPTS does, and a new key
# starts without a cache while one is trained in the background.)
set -euo pipefail
[ $# -ge 4 ] && [ $(($# % 2)) = 0 ] || { sed -n '2,16p' "$0" >&2; exit 2; }
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
ROUNDS=$1 IDLE=$2
shift 2
NAMES=() CMDS=()
while [ $# -gt 0 ]; do NAMES+=("$1"); CMDS+=("$2"); shift 2; done
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
for r in $(seq 0 "$ROUNDS"); do
  for i in "${!NAMES[@]}"; do
    if line=$(eval "python3 \"$ROOT/bench/lifecycle.py\" cold \"$OUT/${NAMES[$i]}-$r.log\" --idle $IDLE -- ${CMDS[$i]}"); then
      [ "$r" = 0 ] || printf '%s\t%s\n' "${NAMES[$i]}" "$line" >>"$OUT/rows.tsv"
    else
      echo "cold-ab: ${NAMES[$i]} round $r failed; its log:" >&2
      tail -5 "$OUT/${NAMES[$i]}-$r.log" >&2
    fi
  done
done
python3 - "$OUT/rows.tsv" <<'PY'
import collections, statistics, sys
rows = collections.defaultdict(list)
for line in open(sys.argv[1]):
    name, first, rss, term, code, cpu = line.rstrip("\n").split("\t")
    rows[name].append((float(first), float(cpu), int(rss) / 1024, float(term), code))
def col(v, i, fmt):
    return "%s [%s]" % (fmt % statistics.median(x[i] for x in v), " ".join("%.0f" % x[i] for x in v))
for name, v in rows.items():
    print("%-12s first %s ms  cpu %s ms  idle RSS %.1f MiB  SIGTERM-to-exit %s ms  exit %s" % (
        name, col(v, 0, "%.1f"), col(v, 1, "%.0f"), statistics.median(x[2] for x in v),
        col(v, 3, "%.1f"), ",".join(sorted(set(x[4] for x in v)))))
PY
