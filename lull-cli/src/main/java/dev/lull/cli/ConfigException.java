package dev.lull.cli;

/** Bad configuration found before serving: one line, exit code 2. */
public final class ConfigException extends RuntimeException {
  public ConfigException(String message) {
    super(message);
  }
}
