package dev.lull.jobs.internal;

import java.util.Collection;
import java.util.Map;

/**
 * Writes JSON: maps (string keys), collections, strings, numbers, booleans, null, and {@link Raw}
 * text already in JSON. Enough for job views and results; Lull reads no JSON.
 */
public final class Json {
  private Json() {}

  /** JSON text written as it is. */
  public record Raw(String json) {}

  public static String write(Object value) {
    StringBuilder b = new StringBuilder();
    write(b, value);
    return b.toString();
  }

  public static void write(StringBuilder b, Object v) {
    switch (v) {
      case null -> b.append("null");
      case Raw r -> b.append(r.json());
      case String s -> string(b, s);
      case Boolean x -> b.append(x);
      case Double d -> number(b, d);
      case Float f -> number(b, f.doubleValue());
      case Number n -> b.append(n);
      case Map<?, ?> m -> {
        b.append('{');
        boolean first = true;
        for (Map.Entry<?, ?> e : m.entrySet()) {
          if (!first) b.append(',');
          first = false;
          if (!(e.getKey() instanceof String k)) {
            throw new IllegalArgumentException("JSON object key is not a string: " + e.getKey());
          }
          string(b, k);
          b.append(':');
          write(b, e.getValue());
        }
        b.append('}');
      }
      case Collection<?> c -> {
        b.append('[');
        boolean first = true;
        for (Object o : c) {
          if (!first) b.append(',');
          first = false;
          write(b, o);
        }
        b.append(']');
      }
      case Enum<?> e -> string(b, e.name());
      case java.time.Instant i -> string(b, i.toString());
      default ->
          throw new IllegalArgumentException(
              "cannot write " + v.getClass().getName() + " as JSON: " + v);
    }
  }

  private static void number(StringBuilder b, double d) {
    if (Double.isNaN(d) || Double.isInfinite(d)) {
      throw new IllegalArgumentException("not a JSON number: " + d);
    }
    b.append(d);
  }

  private static void string(StringBuilder b, String s) {
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
          if (c < 0x20 || c == 0x2028 || c == 0x2029) {
            b.append(String.format("\\u%04x", (int) c));
          } else {
            b.append(c);
          }
        }
      }
    }
    b.append('"');
  }
}
