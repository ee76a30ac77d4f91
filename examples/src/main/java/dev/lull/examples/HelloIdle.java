package dev.lull.examples;

import dev.lull.core.Durations;
import dev.lull.server.Server;
import java.time.Duration;

public class HelloIdle {
  public static void main(String[] args) throws InterruptedException {
    Server server =
        Server.builder()
            .listen("systemd", "127.0.0.1:8080") // the socket systemd passed, else this address
            .handler((req, res) -> res.send("Welcome to the home page!\n"))
            .idleTimeout(args.length > 0 ? Durations.parse(args[0]) : Duration.ofSeconds(30))
            .build();
    System.exit(server.stopOnSignals().start().awaitTermination().exitCode());
  }
}
