package dev.lull.jobs;

import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Reads single fields out of the flat JSON the jobs API writes (enough for tests). */
final class JsonText {
  private JsonText() {}

  /** The string value of the first {@code "name":"..."}; null if absent or not a string. */
  static String str(String json, String name) {
    Matcher m =
        Pattern.compile("\"" + Pattern.quote(name) + "\":\"((?:[^\"\\\\]|\\\\.)*)\"").matcher(json);
    return m.find() ? m.group(1) : null;
  }

  /** The number value of the first {@code "name":123}; fails if absent. */
  static long num(String json, String name) {
    Matcher m = Pattern.compile("\"" + Pattern.quote(name) + "\":(-?\\d+)").matcher(json);
    if (!m.find()) throw new AssertionError("no number " + name + " in " + json);
    return Long.parseLong(m.group(1));
  }

  /** Whether {@code "name":null} is present. */
  static boolean isNull(String json, String name) {
    return json.contains("\"" + name + "\":null");
  }
}
