package dev.lull.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code lull} command. */
@Command(
    name = "lull",
    mixinStandardHelpOptions = true,
    version = "lull 0.1.0-SNAPSHOT",
    description =
        "Lull: an HTTP server runtime that starts on demand, drains gracefully and sleeps when idle.",
    subcommands = {
      DemoCommand.class,
      LoadCommand.class,
      TrainCommand.class,
      CommandLine.HelpCommand.class
    })
public final class Main implements Runnable {
  /** Exit code for bad usage or configuration, before anything is served. */
  public static final int EXIT_USAGE = 2;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  public static void main(String[] args) {
    System.exit(run(args));
  }

  /** Runs the command line and returns its exit code. */
  public static int run(String... args) {
    Logging.configure();
    CommandLine cli = new CommandLine(new Main());
    cli.setParameterExceptionHandler(
        (ex, a) -> {
          CommandLine.Help.ColorScheme cs = ex.getCommandLine().getColorScheme();
          ex.getCommandLine().getErr().println(cs.errorText("lull: " + ex.getMessage()));
          return EXIT_USAGE;
        });
    cli.setExecutionExceptionHandler(
        (ex, cmd, parsed) -> {
          if (ex instanceof ConfigException || ex instanceof IllegalArgumentException) {
            cmd.getErr().println("lull: " + ex.getMessage());
            return EXIT_USAGE;
          }
          throw ex;
        });
    return cli.execute(args);
  }

  @Override
  public void run() {
    spec.commandLine().usage(System.out);
  }
}
