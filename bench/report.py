#!/usr/bin/env python3
"""The report of bench/run.sh: reads results.tsv, rss.tsv and cold.tsv from $BENCH_OUT, prints the
tables of medians and ratios, writes summary.txt and summary.md there, replaces the part of
docs/BENCHMARKS.md between the bench:peers markers (BENCH_DOCS=1) and draws bench-ratios.png
(BENCH_CHART=1, needs matplotlib) into $BENCH_OUT and docs/. Every input comes from run.sh's
environment (BENCH_*); run it through run.sh."""

import csv
import datetime
import os
import shutil
import statistics
import sys

ENV = os.environ
OUT = ENV["BENCH_OUT"]
ROOT = ENV["BENCH_ROOT"]
DOCS = os.path.join(ROOT, "docs", "BENCHMARKS.md")
CHART_DOC = os.path.join(ROOT, "docs", "bench-ratios.png")
BEGIN = "<!-- bench:peers:begin"
END = "<!-- bench:peers:end -->"
SERVERS = ENV["BENCH_SERVERS"].split()
CONNS = ENV["BENCH_CONNS"].split()
NAMES = {
    "lull": "Lull (./lull demo)",
    "lull-b": "Lull B (LULL_B_*)",
    "lull-jar": "Lull (java -jar, no launcher)",
    "netty": "raw Netty (event loop)",
    "netty-aot": "raw Netty + AOT cache",
    "jetty": "Jetty 12 (virtual threads)",
    "jetty-aot": "Jetty 12 + AOT cache",
    "jdk": "JDK HttpServer (virtual threads)",
    "jdk-aot": "JDK HttpServer + AOT cache",
    "go": "Go net/http",
    "java-floor": "JVM floor (java -version)",
}


def rows(name):
    path = os.path.join(OUT, name)
    if not os.path.exists(path):
        return []
    with open(path, newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def med(values):
    values = [float(v) for v in values if v not in ("", None)]
    return statistics.median(values) if values else None


def ratio(a, b):
    return a / b if a is not None and b else None


def fx(r, digits=2):
    return "—" if r is None else "%.*fx" % (digits, r)


def fnum(v, fmt):
    return "—" if v is None else fmt % v


results = rows("results.tsv")
rss = rows("rss.tsv")
cold = [r for r in rows("cold.tsv") if r["round"] != "0"]


def tput(server, conns, key):
    return med(r[key] for r in results if r["server"] == server and r["conns"] == conns)


def errors(server, conns):
    return int(sum(float(r["errors"]) for r in results if r["server"] == server and r["conns"] == conns))


def rss_mib(server, when):
    v = med(r["rss_kib"] for r in rss if r["server"] == server and r["when"] == when)
    return v / 1024 if v is not None else None


def cold_med(server, key):
    return med(r[key] for r in cold if r["server"] == server and r["exit"] not in ("",))


def cold_range(server):
    v = [float(r["first_ms"]) for r in cold if r["server"] == server]
    return (min(v), max(v), len(v)) if v else None


cold_servers = []
for r in cold:
    if r["server"] not in cold_servers:
        cold_servers.append(r["server"])
order = list(NAMES)
cold_servers.sort(key=lambda s: order.index(s) if s in order else len(order))
throughput_servers = [s for s in SERVERS if any(r["server"] == s for r in results)]

# ---------------------------------------------------------------- tables (Markdown)
md = []
tput_md = [
    "| connections | server | req/s | vs Lull | vs Netty | p50 | p99 | server CPU/request | vs Lull | vs Netty"
    " | errors |",
    "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
]
for c in CONNS:
    lr, lc = tput("lull", c, "req_s"), tput("lull", c, "cpu_us_per_req")
    nr, nc = tput("netty", c, "req_s"), tput("netty", c, "cpu_us_per_req")
    for s in throughput_servers:
        r, u = tput(s, c, "req_s"), tput(s, c, "cpu_us_per_req")
        tput_md.append(
            "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %d |"
            % (c, NAMES.get(s, s), fnum(r, "%.0f"), fx(ratio(r, lr)), fx(ratio(r, nr)),
               fnum(tput(s, c, "p50_ms"), "%.2f ms"), fnum(tput(s, c, "p99_ms"), "%.2f ms"),
               fnum(u, "%.1f us"), fx(ratio(u, lc)), fx(ratio(u, nc)), errors(s, c)))

life_md = [
    "| server | first response (median) | min-max (runs) | vs Lull | vs Netty + AOT | CPU by the first"
    " response | idle RSS | RSS after load | SIGTERM-to-exit (idle) |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
]
lf, naf = cold_med("lull", "first_ms"), cold_med("netty-aot", "first_ms")
for s in cold_servers:
    f = cold_med(s, "first_ms")
    rg = cold_range(s)
    idle = cold_med(s, "idle_rss_kib")
    term = cold_med(s, "term_ms")
    load = rss_mib(s, "load") if s in SERVERS else None
    # CPU time of the server's threads when its first response had arrived (older runs: none).
    cpu = med(r.get("first_cpu_ms") for r in cold if r["server"] == s)
    life_md.append(
        "| %s | %s | %s | %s | %s | %s | %s | %s | %s |"
        % (NAMES.get(s, s), fnum(f, "%.1f ms"),
           "—" if rg is None else "%.0f-%.0f ms (%d)" % rg, fx(ratio(f, lf)), fx(ratio(f, naf)),
           fnum(cpu, "%.0f ms"), fnum(idle / 1024 if idle is not None else None, "%.1f MiB"),
           fnum(load, "%.1f MiB"), fnum(term, "%.1f ms")))

# Issue 7's targets, each as Lull's ratio to the peer in this run.
targets = []


def target(what, value, goal, ok):
    if value != "—":  # skipped when this run did not measure it
        targets.append("| %s | %s | %s | %s |" % (what, value, goal, "met" if ok else "**not met**"))


for c in CONNS:
    lr, lc = tput("lull", c, "req_s"), tput("lull", c, "cpu_us_per_req")
    for peer, goal in (("go", 1.1), ("jetty", 1.1), ("netty", 0.85)):
        r = ratio(lr, tput(peer, c, "req_s"))
        target("req/s at %s connections, Lull / %s" % (c, NAMES[peer]), fx(r), ">= %.2fx" % goal,
               r is not None and r >= goal)
    r = ratio(lc, tput("netty", c, "cpu_us_per_req"))
    target("CPU/request at %s connections, Lull / raw Netty" % c, fx(r), "<= 1.2x", r is not None and r <= 1.2)
r = ratio(lf, naf)
target("first response, Lull / raw Netty + AOT", fx(r), "<= 0.5x", r is not None and r <= 0.5)
r = ratio(lf, cold_med("java-floor", "first_ms"))
target("first response, Lull / JVM floor (aim)", fx(r, 1), "3x", r is not None and r <= 3)
li, ji = cold_med("lull", "idle_rss_kib"), cold_med("jdk", "idle_rss_kib")
r = ratio(li, ji)
target("idle RSS, Lull / JDK HttpServer", fx(r), "<= 1x", r is not None and r <= 1)
ll = rss_mib("lull", "load")
target("RSS after load, Lull", fnum(ll, "%.0f MiB"), "<= 128 MiB", ll is not None and ll <= 128)
lt = cold_med("lull", "term_ms")
target("SIGTERM-to-exit when idle, Lull", fnum(lt, "%.1f ms"), "<= 25 ms", lt is not None and lt <= 25)

now = ENV.get("BENCH_DATE") or datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
label = ENV.get("BENCH_LABEL", "")
notes = [n for n in ENV.get("BENCH_NOTES", "").split("\n") if n.strip()]
md.append("**Run of %s**%s" % (now, (": " + label) if label else ""))
md.append("")
md.append("- command: `%s`" % ENV["BENCH_CMD"])
md.append("- machine: %s; %s; %s%s" % (ENV["BENCH_MACHINE"], ENV["BENCH_JVM"], ENV["BENCH_WRK"],
                                        ("; " + ENV["BENCH_GO"]) if ENV.get("BENCH_GO") else ""))
md.append("- load average (1/5/15 min): %s before, %s after the throughput runs%s"
          % (ENV["BENCH_LOAD_BEFORE"], ENV["BENCH_LOAD_AFTER"],
             (", %s after the cold starts" % ENV["BENCH_LOAD_COLD_AFTER"])
             if ENV.get("BENCH_LOAD_COLD_AFTER") else ""))
md.append("- JVM flags (every JVM server): `%s`; wrk -t%s, %s interleaved round(s) of %s per connection count"
          "; servers and wrk %s" % (ENV["BENCH_JVM_FLAGS"], ENV["BENCH_THREADS"], ENV["BENCH_ROUNDS"],
                                   ENV["BENCH_DURATION"], "pinned (servers CPU 0, wrk CPU 1)"
                                   if ENV.get("BENCH_PIN") == "1" else "unpinned"))
if cold:
    md.append("- cold starts: medians of %s interleaved start(s) per server after one unmeasured start;"
              " each server idle %s s after its first response before its RSS is read and it gets"
              " SIGTERM" % (ENV["BENCH_COLD_RUNS"], ENV["BENCH_COLD_IDLE"]))
for n in notes:
    md.append("- note: %s" % n)
md.append("- raw outputs: `%s` (not committed)" % os.path.relpath(OUT, ROOT))
md.append("")
md.append("Throughput, `GET /` on loopback (medians over rounds; \"vs\" = this server's figure divided by"
          " Lull's or raw Netty's):")
md.append("")
md += tput_md
if cold:
    md.append("")
    md.append("Cold start under socket activation (the first client connects, then the server is"
              " started), memory and stop:")
    md.append("")
    md += life_md
if targets:
    md.append("")
    md.append("Lull against issue 7's targets in this run:")
    md.append("")
    md.append("| target | this run | goal | |")
    md.append("|---|---:|---:|---|")
    md += targets

# ---------------------------------------------------------------- console text
def text_table(lines):
    cells = [[c.strip() for c in l.strip("|").split("|")] for l in lines if not l.startswith("|---")]
    widths = [max(len(r[i]) for r in cells) for i in range(len(cells[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in cells)


txt = ["", "GET / throughput (medians; vs = this server / Lull, this server / raw Netty)",
       text_table(tput_md)]
if cold:
    txt += ["", "Cold start under socket activation, memory, SIGTERM-to-exit (medians)", text_table(life_md)]
if targets:
    txt += ["", "Issue 7 targets for Lull", text_table(["|target|this run|goal|result|"] + targets)]
for n in notes:
    txt.append("note: " + n)
txt.append("")
print("\n".join(txt))
with open(os.path.join(OUT, "summary.txt"), "w") as f:
    f.write("\n".join(txt))
with open(os.path.join(OUT, "summary.md"), "w") as f:
    f.write("\n".join(md) + "\n")

# ---------------------------------------------------------------- chart
chart = os.path.join(OUT, "bench-ratios.png")
if ENV.get("BENCH_CHART") == "1":
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter

    TICKS = [m * 10 ** e for e in range(-4, 4) for m in (1, 2, 5)]

    def factor_text(f):
        return " %.2fx " % f if 0.1 <= f < 10 else " %.2gx " % f

    # (title, Lull's value, peer's value function, higher is better)
    metrics = []
    for c in CONNS:
        metrics.append(("req/s, %s connections" % c, lambda s, c=c: tput(s, c, "req_s"), True))
    for c in CONNS:
        metrics.append(("CPU per request, %s conn." % c, lambda s, c=c: tput(s, c, "cpu_us_per_req"), False))
    metrics.append(("first response (cold start)", lambda s: cold_med(s, "first_ms"), False))
    metrics.append(("idle RSS", lambda s: cold_med(s, "idle_rss_kib"), False))
    metrics.append(("RSS after load", lambda s: rss_mib(s, "load"), False))
    metrics.append(("SIGTERM-to-exit (idle)", lambda s: cold_med(s, "term_ms"), False))
    peers = [s for s in NAMES if s not in ("lull", "java-floor") and (s in SERVERS or s in cold_servers)]
    cols = 4
    nrows = (len(metrics) + cols - 1) // cols
    fig, axes = plt.subplots(nrows, cols, figsize=(4.2 * cols, 0.45 * len(peers) * nrows + 1.6 * nrows),
                             squeeze=False)
    for ax, (title, value, higher_better) in zip(axes.flat, metrics):
        lv = value("lull")
        labels, factors = [], []
        for p in peers:
            pv = value(p)
            if lv and pv:
                labels.append(NAMES[p])
                factors.append(lv / pv if higher_better else pv / lv)
        ax.set_title(title, fontsize=10)
        ax.axvline(1, color="black", linewidth=0.8)
        if not factors:
            ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes)
            ax.set_yticks([])
            continue
        y = list(range(len(factors)))[::-1]
        ax.barh(y, [f - 1 if f >= 1 else -(1 - f) for f in factors], left=1,
                color=["#3a7d44" if f >= 1 else "#b5403a" for f in factors])
        ax.set_xscale("log")
        ax.set_yticks(y)
        ax.set_yticklabels(labels, fontsize=8)
        lo, hi = min(factors + [1]), max(factors + [1])
        left, right = lo / (6 if lo < 0.1 else 3), hi * 1.8
        ax.set_xlim(left, right)
        for yy, f in zip(y, factors):
            ax.text(f, yy, factor_text(f), va="center",
                    ha="left" if f >= 1 else "right", fontsize=7)
        ticks = [t for t in TICKS if left <= t <= right]
        if right / left > 40:  # wide: powers of ten only
            ticks = [t for t in ticks if ("%g" % t).lstrip("0.").startswith("1")]
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: "%gx" % v))
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.tick_params(axis="x", labelsize=7)
    for ax in list(axes.flat)[len(metrics):]:
        ax.axis("off")
    fig.suptitle("Lull's demo GET / against each peer: factor by which Lull is better (>1, green) or worse"
                 " (<1, red), log scale\n%s%s" % (now, (" — " + label) if label else ""), fontsize=11)
    fig.tight_layout()
    fig.savefig(chart, dpi=90)
    print("chart: " + chart)

# ---------------------------------------------------------------- docs
if ENV.get("BENCH_DOCS") == "1":
    with open(DOCS) as f:
        doc = f.read()
    b, e = doc.find(BEGIN), doc.find(END)
    if b < 0 or e < b:
        print("report.py: %s has no %s ... %s markers; not updated" % (DOCS, BEGIN, END), file=sys.stderr)
    else:
        block = list(md)
        if os.path.exists(chart) and ENV.get("BENCH_CHART") == "1":
            shutil.copyfile(chart, CHART_DOC)
            block += ["", "![Lull against each peer, factors](bench-ratios.png)"]
        begin_line_end = doc.index("\n", b) + 1
        doc = doc[:begin_line_end] + "\n".join(block) + "\n" + doc[e:]
        with open(DOCS, "w") as f:
            f.write(doc)
        print("written: docs/BENCHMARKS.md%s" % (", docs/bench-ratios.png" if ENV.get("BENCH_CHART") == "1"
                                                   else ""))
