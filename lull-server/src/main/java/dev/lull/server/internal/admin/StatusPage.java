package dev.lull.server.internal.admin;

import dev.lull.core.Durations;
import dev.lull.core.StopReason;
import dev.lull.server.BoundListener;
import java.time.Duration;

/**
 * Renders {@code /status}: one self-contained HTML page (inline style and script, no external
 * assets, no build step). The server renders everything, so the page reads without JavaScript (then
 * a {@code <noscript>} meta refresh reloads it every 5 seconds); with JavaScript it fetches itself
 * every second and swaps its {@code <main>} in place, so it updates without flicker and marks
 * itself stale when the server stops answering. Elements carry ids ({@code conn-open}, {@code
 * phase}, ...) that tests and scripts may rely on.
 */
final class StatusPage {
  private StatusPage() {}

  static final String CONTENT_TYPE = "text/html; charset=utf-8";

  private static final String STYLE =
      """
      :root{--fg:#1d2330;--muted:#667085;--line:#e4e7ec;--bg:#f7f8fa;--card:#fff;
      --run:#12805c;--drain:#b54708;--stop:#b42318;--start:#3e4784}
      *{box-sizing:border-box}
      body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
      color:var(--fg);background:var(--bg)}
      main{max-width:960px;margin:0 auto;padding:24px}
      header{display:flex;align-items:center;gap:12px;flex-wrap:wrap;margin-bottom:18px}
      h1{font-size:22px;margin:0 8px 0 0;letter-spacing:.5px}
      h2{font-size:15px;margin:22px 0 8px;color:var(--muted);font-weight:600;
      text-transform:uppercase;letter-spacing:.6px}
      .pill{display:inline-block;padding:2px 10px;border-radius:999px;font-weight:600;
      font-size:13px;color:#fff}
      .phase-running{background:var(--run)}.phase-draining{background:var(--drain)}
      .phase-stopping,.phase-terminated{background:var(--stop)}.phase-starting{background:var(--start)}
      .ready{background:var(--run)}.not-ready{background:var(--stop)}
      .muted{color:var(--muted)}
      .cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(110px,1fr));gap:10px}
      .card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:12px 14px}
      .num{font-size:28px;font-weight:700;font-variant-numeric:tabular-nums}
      .label{color:var(--muted);font-size:13px}
      .bar{display:flex;height:10px;border-radius:5px;overflow:hidden;background:var(--line);
      margin:14px 0 4px}
      .bar span{display:block;height:100%}
      .s-new{background:#6172f3}.s-active{background:#12805c}.s-idle{background:#98a2b3}
      .s-hijacked{background:#b54708}
      .legend span{margin-right:14px;font-size:13px;color:var(--muted)}
      .legend i{display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:5px}
      table{width:100%;border-collapse:collapse;background:var(--card);border:1px solid var(--line);
      border-radius:10px;overflow:hidden}
      th,td{text-align:left;padding:7px 12px;border-bottom:1px solid var(--line);font-size:14px}
      th{color:var(--muted);font-weight:600;background:#fbfbfc}
      tr:last-child td{border-bottom:0}
      td.num-cell{font-variant-numeric:tabular-nums;text-align:right}
      .empty{color:var(--muted);font-style:italic}
      code{font:13px ui-monospace,SFMono-Regular,Menlo,monospace}
      footer{margin-top:22px;color:var(--muted);font-size:13px}
      footer a{color:inherit}
      #stale{display:none;background:var(--stop);color:#fff;padding:6px 12px;border-radius:8px;
      margin-bottom:12px}
      body.stale #stale{display:block}
      """;

  private static final String SCRIPT =
      """
      (function () {
        function schedule() { setTimeout(refresh, 1000); }
        async function refresh() {
          try {
            const r = await fetch(location.pathname + location.search, {cache: "no-store"});
            if (!r.ok) throw new Error("HTTP " + r.status);
            const doc = new DOMParser().parseFromString(await r.text(), "text/html");
            const next = doc.getElementById("status");
            if (next) {
              document.getElementById("status").replaceWith(next);
              document.title = doc.title;
            }
            document.body.classList.remove("stale");
          } catch (e) {
            document.body.classList.add("stale");
          }
          schedule();
        }
        schedule();
      })();
      """;

  static String render(StatusSnapshot s) {
    StringBuilder h = new StringBuilder(8 * 1024);
    String phase = AdminPlane.label(s.phase());
    h.append("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    h.append("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    h.append("<title>lull · ").append(phase).append("</title>");
    h.append("<noscript><meta http-equiv=\"refresh\" content=\"5\"></noscript>");
    h.append("<style>").append(STYLE).append("</style></head><body>\n");
    h.append("<main id=\"status\">");
    h.append("<div id=\"stale\">The server does not answer: this page is out of date.</div>");

    h.append("<header><h1>lull</h1>");
    h.append("<span id=\"phase\" class=\"pill phase-").append(phase).append("\">");
    h.append(phase).append("</span>");
    h.append("<span id=\"ready\" class=\"pill ")
        .append(s.ready() ? "ready\">ready" : "not-ready\">not ready")
        .append("</span>");
    if (s.stopReason().isPresent()) {
      h.append("<span class=\"muted\">stopping: <span id=\"stop-reason\">")
          .append(esc(s.stopReason().map(StopReason::label).orElseThrow()))
          .append("</span></span>");
    }
    h.append("</header>\n");

    h.append("<section class=\"cards\">");
    card(h, "conn-open", Long.toString(s.counts().open()), "open connections");
    card(h, "conn-active", Long.toString(s.counts().active()), "active");
    card(h, "conn-idle", Long.toString(s.counts().idle()), "idle keep-alive");
    card(h, "conn-new", Long.toString(s.counts().newConnections()), "new");
    card(h, "conn-hijacked", Long.toString(s.counts().hijacked()), "hijacked");
    card(h, "work-running", Long.toString(s.counts().work()), "work running");
    card(h, "idle-in", idleText(s), idleLabel(s));
    h.append("</section>\n");

    bar(h, s);

    h.append("<h2>Listeners</h2>");
    h.append("<table id=\"listeners\"><tr><th>name</th><th>address</th><th>source</th></tr>");
    if (s.listeners().isEmpty()) emptyRow(h, 3, "no listener accepting");
    for (BoundListener l : s.listeners()) {
      h.append("<tr><td>").append(esc(l.name())).append("</td><td><code>");
      h.append(esc(address(l.address()))).append("</code></td><td>");
      h.append(l.inherited() ? "systemd" : "bound").append("</td></tr>");
    }
    h.append("</table>\n");

    h.append("<h2>In-flight requests (<span id=\"in-flight-count\">")
        .append(s.inFlight().size())
        .append("</span>)</h2>");
    h.append("<table id=\"in-flight\"><tr><th>age</th><th>method</th><th>path</th>");
    h.append("<th>listener</th><th>connection</th></tr>");
    if (s.inFlight().isEmpty()) emptyRow(h, 5, "none");
    for (InFlight r : s.inFlight()) {
      h.append("<tr><td class=\"num-cell\">").append(age(r.age())).append("</td><td>");
      h.append(esc(r.method())).append("</td><td><code>").append(esc(r.path()));
      h.append("</code></td><td>").append(esc(r.listener())).append("</td><td class=\"num-cell\">");
      h.append(r.connectionId()).append("</td></tr>");
    }
    h.append("</table>\n");

    h.append("<h2>Work (<span id=\"work-count\">").append(s.work().size()).append("</span>)</h2>");
    h.append("<table id=\"work\"><tr><th>age</th><th>kind</th><th>description</th><th></th></tr>");
    if (s.work().isEmpty()) emptyRow(h, 4, "none");
    for (StatusSnapshot.WorkInfo w : s.work()) {
      h.append("<tr><td class=\"num-cell\">").append(age(w.age())).append("</td><td>");
      h.append(esc(w.kind())).append(" #").append(w.id()).append("</td><td>");
      h.append(esc(w.description())).append("</td><td>");
      h.append(w.cancelled() ? "cancelled" : "").append("</td></tr>");
    }
    h.append("</table>\n");

    h.append("<footer>accepted <span id=\"accepted\">").append(s.counts().accepted());
    h.append("</span>, closed <span id=\"closed\">").append(s.counts().closed());
    h.append("</span> connections · busy <span id=\"busy\">").append(s.busy()).append("</span>");
    h.append(" · drain delay ").append(Durations.format(s.drainDelay()));
    h.append(", stop timeout ")
        .append(s.stopTimeout().isZero() ? "none" : Durations.format(s.stopTimeout()));
    h.append(", kill timeout ").append(Durations.format(s.killTimeout()));
    h.append(" · up ").append(Durations.formatApprox(s.uptime()));
    h.append(" · <a href=\"status.json\">status.json</a> · <a href=\"metrics\">metrics</a>");
    h.append(" · <a href=\"readyz\">readyz</a> · at <span id=\"time\">");
    h.append(s.time().truncatedTo(java.time.temporal.ChronoUnit.SECONDS));
    h.append("</span></footer>");
    h.append("</main>\n<script>").append(SCRIPT).append("</script>\n</body></html>\n");
    return h.toString();
  }

  private static void card(StringBuilder h, String id, String value, String label) {
    h.append("<div class=\"card\"><div class=\"num\" id=\"").append(id).append("\">");
    h.append(esc(value)).append("</div><div class=\"label\">").append(esc(label));
    h.append("</div></div>");
  }

  private static void bar(StringBuilder h, StatusSnapshot s) {
    long open = s.counts().open();
    h.append("<div class=\"bar\" title=\"connections by state\">");
    if (open > 0) {
      segment(h, "s-new", s.counts().newConnections(), open);
      segment(h, "s-active", s.counts().active(), open);
      segment(h, "s-idle", s.counts().idle(), open);
      segment(h, "s-hijacked", s.counts().hijacked(), open);
    }
    h.append("</div><div class=\"legend\">");
    for (String st : new String[] {"new", "active", "idle", "hijacked"}) {
      h.append("<span><i class=\"s-").append(st).append("\"></i>").append(st).append("</span>");
    }
    h.append("</div>\n");
  }

  private static void segment(StringBuilder h, String cls, long n, long total) {
    if (n <= 0) return;
    h.append("<span class=\"").append(cls).append("\" style=\"width:");
    h.append(String.format(java.util.Locale.ROOT, "%.2f", 100.0 * n / total)).append("%\"></span>");
  }

  private static String idleText(StatusSnapshot s) {
    if (s.idleTimeout().isEmpty()) return "off";
    if (s.idleIn().isPresent()) return Durations.formatApprox(roundUpToSecond(s.idleIn().get()));
    return "busy";
  }

  private static String idleLabel(StatusSnapshot s) {
    if (s.idleTimeout().isEmpty()) return "idle exit";
    String timeout = Durations.format(s.idleTimeout().get());
    return s.idleIn().isPresent()
        ? "until idle exit (" + timeout + ")"
        : "idle exit after " + timeout;
  }

  /** An address as people write it: {@code 127.0.0.1:8080}, {@code [::1]:80}, {@code unix:/p}. */
  static String address(java.net.SocketAddress a) {
    if (a instanceof java.net.InetSocketAddress inet) {
      String host = inet.getHostString();
      if (host.contains(":")) host = "[" + host + "]";
      return host + ":" + inet.getPort();
    }
    if (a instanceof java.net.UnixDomainSocketAddress unix) return "unix:" + unix.getPath();
    return String.valueOf(a);
  }

  /** A countdown reads best in whole seconds, rounded up: "1s" until it fires. */
  private static Duration roundUpToSecond(Duration d) {
    long s = (d.toNanos() + 999_999_999L) / 1_000_000_000L;
    return Duration.ofSeconds(s);
  }

  private static String age(Duration d) {
    return esc(Durations.formatApprox(d));
  }

  private static void emptyRow(StringBuilder h, int cols, String text) {
    h.append("<tr><td colspan=\"").append(cols).append("\" class=\"empty\">");
    h.append(esc(text)).append("</td></tr>");
  }

  static String esc(String s) {
    StringBuilder b = new StringBuilder(s.length() + 8);
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '&' -> b.append("&amp;");
        case '<' -> b.append("&lt;");
        case '>' -> b.append("&gt;");
        case '"' -> b.append("&quot;");
        case '\'' -> b.append("&#39;");
        default -> b.append(c);
      }
    }
    return b.toString();
  }
}
