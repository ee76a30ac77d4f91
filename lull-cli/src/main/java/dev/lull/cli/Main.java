package dev.lull.cli;

import io.netty.buffer.ByteBufAllocator;
import io.netty.channel.epoll.Epoll;
import io.netty.util.internal.logging.InternalLoggerFactory;
import io.netty.util.internal.logging.JdkLoggerFactory;
import java.util.concurrent.CompletableFuture;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code lull} command. */
@Command(
    name = "lull",
    mixinStandardHelpOptions = true,
    version = "lull 0.1.0-SNAPSHOT",
    description =
        "Lull: an HTTP server runtime that starts on demand, drains gracefully and sleeps when idle.")
public final class Main implements Runnable {
  /** Exit code for bad usage or configuration, before anything is served. */
  public static final int EXIT_USAGE = 2;

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  public static void main(String[] args) {
    System.exit(run(args));
  }

  /** Runs the command line and returns its exit code. */
  public static int run(String... args) {
    // Netty would first look for SLF4J (on the class path, without a binding, for sqlite-jdbc),
    // find it a no-op and fall back to java.util.logging after loading it: go there directly.
    // The CLI owns its process; a library must not choose this for an application.
    InternalLoggerFactory.setDefaultFactory(JdkLoggerFactory.INSTANCE);
    // First, so that it overlaps the logging set-up too.
    if (args.length > 0 && (args[0].equals("demo") || args[0].equals("train"))) warmNetty();
    Logging.configure();
    CommandLine cli = commandLine(args);
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

  private static volatile CompletableFuture<Void> nettyReady =
      CompletableFuture.completedFuture(null);

  /**
   * Runs Netty's static set-up on another thread while picocli builds its model on this one: the
   * native transport (a JNI library copied out of the jar) and the allocator's cleaner (on JDK 24+
   * with native access, a foreign-function binding of malloc and free), 30-70 ms of a
   * socket-activated start (docs/STARTUP.md). Commands call {@link #awaitNetty()} before any other
   * use of Netty, so that no class is ever initialised by two threads at once.
   */
  private static void warmNetty() {
    CompletableFuture<Void> ready = new CompletableFuture<>();
    nettyReady = ready;
    Thread.ofPlatform()
        .name("lull-warmup")
        .daemon(true)
        .start(
            () -> {
              try {
                Epoll.isAvailable();
                ByteBufAllocator.DEFAULT.getClass();
              } catch (Throwable e) {
                // The server's own start reports what is wrong with the transport.
              } finally {
                ready.complete(null);
              }
            });
  }

  /** Waits until {@link #warmNetty()}, if it was started, is done. */
  static void awaitNetty() {
    nettyReady.join();
  }

  /**
   * The command line for {@code args}. picocli builds the model of every subcommand it is given, by
   * reflection over all its options, and its classes cannot be kept in the JDK's AOT cache (they
   * are Java 5 class files): when the first argument names a subcommand, only that one is built,
   * which saves a socket-activated {@code lull demo} the model of {@code lull load}. Help lists
   * them all.
   */
  static CommandLine commandLine(String... args) {
    CommandLine cli = new CommandLine(new Main());
    Object only =
        switch (args.length > 0 ? args[0] : "") {
          case "demo" -> new DemoCommand();
          case "load" -> new LoadCommand();
          case "train" -> new TrainCommand();
          default -> null;
        };
    if (only != null) {
      cli.addSubcommand(only);
    } else {
      cli.addSubcommand(new DemoCommand());
      cli.addSubcommand(new LoadCommand());
      cli.addSubcommand(new TrainCommand());
      cli.addSubcommand(new CommandLine.HelpCommand());
    }
    return cli;
  }

  @Override
  public void run() {
    spec.commandLine().usage(System.out);
  }
}
