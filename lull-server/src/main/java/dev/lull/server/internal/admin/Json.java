package dev.lull.server.internal.admin;

import java.time.Duration;

/**
 * A small JSON writer for the admin plane's own documents ({@code /readyz}, {@code /status.json}):
 * objects and arrays written in order, strings escaped as RFC 8259 requires. Not a general JSON
 * library: it writes, never parses, and the caller keeps the nesting right.
 */
final class Json {
  private final StringBuilder out = new StringBuilder(256);
  // Whether the next value in the current object or array needs a comma first.
  private boolean comma;

  Json beginObject() {
    separate();
    out.append('{');
    comma = false;
    return this;
  }

  Json endObject() {
    out.append('}');
    comma = true;
    return this;
  }

  Json beginArray() {
    separate();
    out.append('[');
    comma = false;
    return this;
  }

  Json endArray() {
    out.append(']');
    comma = true;
    return this;
  }

  /** Writes a member name; the value follows. */
  Json name(String name) {
    separate();
    string(out, name);
    out.append(':');
    comma = false;
    return this;
  }

  Json value(String s) {
    separate();
    if (s == null) {
      out.append("null");
    } else {
      string(out, s);
    }
    comma = true;
    return this;
  }

  Json value(long n) {
    separate();
    out.append(n);
    comma = true;
    return this;
  }

  Json value(boolean b) {
    separate();
    out.append(b);
    comma = true;
    return this;
  }

  /** A duration as seconds with millisecond precision ({@code 1.5}), or null. */
  Json seconds(Duration d) {
    separate();
    if (d == null) {
      out.append("null");
    } else {
      out.append(
          java.math.BigDecimal.valueOf(d.toMillis(), 3).stripTrailingZeros().toPlainString());
    }
    comma = true;
    return this;
  }

  Json nullValue() {
    separate();
    out.append("null");
    comma = true;
    return this;
  }

  private void separate() {
    if (comma) {
      out.append(',');
      comma = false;
    }
  }

  @Override
  public String toString() {
    return out.toString();
  }

  /** Appends {@code s} as a JSON string literal. */
  static void string(StringBuilder out, String s) {
    out.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> out.append("\\\"");
        case '\\' -> out.append("\\\\");
        case '\n' -> out.append("\\n");
        case '\r' -> out.append("\\r");
        case '\t' -> out.append("\\t");
        default -> {
          // Controls must be escaped; U+2028/2029 too, so the text is also valid JavaScript.
          if (c < 0x20 || c == '\u2028' || c == '\u2029') {
            out.append(String.format("\\u%04x", (int) c));
          } else {
            out.append(c);
          }
        }
      }
    }
    out.append('"');
  }
}
