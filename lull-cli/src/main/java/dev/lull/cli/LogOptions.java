package dev.lull.cli;

import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * The logging options a command mixes in ({@code @Mixin LogOptions log;}): setting one configures
 * {@link Logging} at once, before the command runs.
 */
final class LogOptions {
  @Spec(Spec.Target.MIXEE)
  CommandSpec spec;

  @Option(
      names = "--log-format",
      paramLabel = "FORMAT",
      description = {
        "text (default) or json: one JSON object per line. Under systemd, lines carry syslog",
        "priority prefixes (<4>, <6>) when stderr is the journal (JOURNAL_STREAM)."
      })
  void setLogFormat(String format) {
    try {
      Logging.configure(Logging.Format.parse(format));
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), "--log-format: " + e.getMessage());
    }
  }
}
