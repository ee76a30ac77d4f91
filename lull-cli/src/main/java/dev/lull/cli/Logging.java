package dev.lull.cli;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.Locale;
import java.util.Optional;
import java.util.logging.ConsoleHandler;
import java.util.logging.Formatter;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogManager;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * Logs one line per event on stderr, which suits journald, containers and log shippers.
 *
 * <ul>
 *   <li><b>Text</b> (default): {@code 2026-01-31T12:00:00.123Z INFO dev.lull.lifecycle: message}.
 *   <li><b>JSON lines</b> ({@code --log-format json}): one object per line with {@code time},
 *       {@code level}, {@code priority} (syslog), {@code logger}, {@code thread}, {@code message},
 *       and {@code error} / {@code stack} when an exception is attached.
 *   <li><b>journald</b>: when stderr <em>is</em> the journal — systemd sets {@code JOURNAL_STREAM}
 *       to the {@code device:inode} of the stream it connected to stderr, and it matches {@code
 *       /proc/self/fd/2} — every line starts with a syslog priority prefix ({@code <3>} error,
 *       {@code <4>} warning, {@code <6>} info, {@code <7>} debug), which journald turns into the
 *       entry's priority ({@code journalctl -p warning}), and text lines drop the timestamp and
 *       level, which the journal records itself. A child process whose stderr was redirected
 *       elsewhere inherits {@code JOURNAL_STREAM} too; the inode check keeps it from prefixing.
 * </ul>
 *
 * Expected outcomes (a client that went away, a cancelled request) are logged without stack trace:
 * an exception attached to a record below ERROR is summarised on the same line ({@code
 * java.io.IOException: Broken pipe}, with its causes). Only ERROR records print a stack trace: in
 * text, as further lines (each with the error prefix under journald); in JSON, in the {@code stack}
 * field. A message's own line breaks are written as {@code \n}, so one event stays one line.
 *
 * <p>A {@code java.util.logging.config.file} given on the command line wins over all of this.
 */
final class Logging {
  /** How lines are written. */
  enum Format {
    TEXT,
    JSON;

    /**
     * Parses {@code text} or {@code json}, in any case.
     *
     * @throws IllegalArgumentException naming the value otherwise
     */
    static Format parse(String s) {
      return switch (s.toLowerCase(Locale.ROOT)) {
        case "text" -> TEXT;
        case "json" -> JSON;
        default ->
            throw new IllegalArgumentException("log format must be text or json: \"" + s + "\"");
      };
    }
  }

  private static final DateTimeFormatter TIME =
      DateTimeFormatter.ofPattern("uuuu-MM-dd'T'HH:mm:ss.SSS'Z'").withZone(ZoneOffset.UTC);

  private Logging() {}

  /** Text lines, with priority prefixes when stderr is the journal. */
  static void configure() {
    configure(Format.TEXT);
  }

  /**
   * Replaces the root logger's handlers with one that writes {@code format} lines to stderr, with
   * priority prefixes when stderr is the journal. May be called again (the last call wins).
   */
  static synchronized void configure(Format format) {
    if (System.getProperty("java.util.logging.config.file") != null) return;
    LogManager.getLogManager().reset();
    Logger root = Logger.getLogger("");
    ConsoleHandler handler = new ConsoleHandler();
    handler.setFormatter(new LineFormatter(format, stderrIsJournal()));
    handler.setLevel(Level.ALL);
    root.addHandler(handler);
    root.setLevel(Level.INFO);
  }

  /** Whether this process's stderr is connected to the journal (see the class comment). */
  static boolean stderrIsJournal() {
    return isJournal(System.getenv("JOURNAL_STREAM"), stderrIdentity());
  }

  /**
   * Whether {@code journalStream}, a value of {@code JOURNAL_STREAM} ({@code device:inode}), names
   * the stream {@code stderr} is ({@code device:inode} too).
   */
  static boolean isJournal(String journalStream, Optional<String> stderr) {
    return journalStream != null
        && !journalStream.isEmpty()
        && stderr.isPresent()
        && journalStream.trim().equals(stderr.get());
  }

  /** The {@code device:inode} of stderr, read from {@code /proc/self/fd/2} (Linux); else empty. */
  static Optional<String> stderrIdentity() {
    try {
      Path fd2 = Path.of("/proc/self/fd/2");
      Object dev = Files.getAttribute(fd2, "unix:dev");
      Object ino = Files.getAttribute(fd2, "unix:ino");
      return Optional.of(dev + ":" + ino);
    } catch (Exception | LinkageError e) {
      return Optional.empty(); // not Linux, no /proc, no "unix" attribute view
    }
  }

  /** The syslog priority of a level: 3 error, 4 warning, 6 info, 7 debug. */
  static int priority(Level level) {
    int v = level.intValue();
    if (v >= Level.SEVERE.intValue()) return 3;
    if (v >= Level.WARNING.intValue()) return 4;
    if (v >= Level.INFO.intValue()) return 6;
    return 7;
  }

  /** A level as {@link System.Logger} names it: ERROR, WARN, INFO, DEBUG, TRACE. */
  static String levelName(Level level) {
    int v = level.intValue();
    if (v >= Level.SEVERE.intValue()) return "ERROR";
    if (v >= Level.WARNING.intValue()) return "WARN";
    if (v >= Level.INFO.intValue()) return "INFO";
    if (v >= Level.FINE.intValue()) return "DEBUG";
    return "TRACE";
  }

  /** Formats one record as one line (plus stack lines for errors in text); see the class. */
  static final class LineFormatter extends Formatter {
    private final Format format;
    private final boolean journal;

    LineFormatter(Format format, boolean journal) {
      this.format = format;
      this.journal = journal;
    }

    @Override
    public String format(LogRecord r) {
      String message = formatMessage(r);
      Throwable thrown = r.getThrown();
      boolean stack = thrown != null && r.getLevel().intValue() >= Level.SEVERE.intValue();
      String prefix = journal ? "<" + priority(r.getLevel()) + ">" : "";
      StringBuilder b = new StringBuilder(128);
      if (format == Format.JSON) {
        b.append(prefix).append('{');
        field(b, "time", TIME.format(Instant.ofEpochMilli(r.getMillis()))).append(',');
        field(b, "level", levelName(r.getLevel())).append(',');
        b.append("\"priority\":").append(priority(r.getLevel())).append(',');
        field(b, "logger", String.valueOf(r.getLoggerName())).append(',');
        field(b, "thread", threadName(r)).append(',');
        field(b, "message", message);
        if (thrown != null) {
          b.append(',');
          field(b, "error", summary(thrown));
          if (stack) {
            b.append(',');
            field(b, "stack", stackTrace(thrown));
          }
        }
        return b.append("}\n").toString();
      }
      b.append(prefix);
      if (!journal) {
        b.append(TIME.format(Instant.ofEpochMilli(r.getMillis()))).append(' ');
        b.append(levelName(r.getLevel())).append(' ');
      }
      b.append(r.getLoggerName()).append(": ").append(oneLine(message));
      if (thrown != null && !stack) b.append(": ").append(oneLine(summary(thrown)));
      b.append('\n');
      if (stack) {
        for (String line : stackTrace(thrown).split("\\R")) {
          if (!line.isEmpty()) b.append(prefix).append(line).append('\n');
        }
      }
      return b.toString();
    }

    private static String threadName(LogRecord r) {
      Thread t = Thread.currentThread();
      // The record is formatted on the logging thread, which is the thread that logged.
      return t.threadId() == r.getLongThreadID() ? t.getName() : "#" + r.getLongThreadID();
    }
  }

  /** {@code Class: message}, then {@code ; caused by Class: message} for each cause. */
  static String summary(Throwable t) {
    StringBuilder b = new StringBuilder();
    int depth = 0;
    for (Throwable c = t; c != null && depth < 8; c = c.getCause(), depth++) {
      if (depth > 0) b.append("; caused by ");
      b.append(c.getClass().getName());
      if (c.getMessage() != null) b.append(": ").append(c.getMessage());
      if (c.getCause() == c) break;
    }
    return b.toString();
  }

  private static String stackTrace(Throwable t) {
    StringWriter w = new StringWriter();
    t.printStackTrace(new PrintWriter(w));
    return w.toString().stripTrailing();
  }

  /** Line breaks written as the two characters {@code \n}, so that an event stays one line. */
  static String oneLine(String s) {
    if (s.indexOf('\n') < 0 && s.indexOf('\r') < 0) return s;
    return s.replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n");
  }

  private static StringBuilder field(StringBuilder b, String name, String value) {
    quote(b, name).append(':');
    return quote(b, value);
  }

  private static StringBuilder quote(StringBuilder b, String s) {
    b.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> b.append("\\\"");
        case '\\' -> b.append("\\\\");
        case '\n' -> b.append("\\n");
        case '\r' -> b.append("\\r");
        case '\t' -> b.append("\\t");
        default -> {
          if (c < 0x20) {
            b.append(String.format("\\u%04x", (int) c));
          } else {
            b.append(c);
          }
        }
      }
    }
    return b.append('"');
  }

  /** For tests: the formatter of the root handler, if it is ours. */
  static Optional<Formatter> installedFormatter() {
    for (Handler h : Logger.getLogger("").getHandlers()) {
      if (h.getFormatter() instanceof LineFormatter f) return Optional.of(f);
    }
    return Optional.empty();
  }
}
