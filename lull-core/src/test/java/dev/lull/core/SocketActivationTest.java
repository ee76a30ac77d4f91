package dev.lull.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.lull.core.SocketActivation.ListenFd;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class SocketActivationTest {
  private static final long PID = 4242;

  private static Map<String, String> env(String... kv) {
    Map<String, String> env = new HashMap<>();
    for (int i = 0; i < kv.length; i += 2) env.put(kv[i], kv[i + 1]);
    return env;
  }

  @Test
  void namedSocketsStartAtFd3InOrder() {
    SocketActivation a =
        SocketActivation.parse(
            env("LISTEN_PID", "4242", "LISTEN_FDS", "3", "LISTEN_FDNAMES", "http:admin:http"), PID);
    assertThat(a.fds())
        .containsExactly(
            new ListenFd(3, "http"), new ListenFd(4, "admin"), new ListenFd(5, "http"));
    assertThat(a.named("http")).extracting(ListenFd::fd).containsExactly(3, 5);
    assertThat(a.named("nope")).isEmpty();
    assertThat(a.names()).containsExactly("http", "admin");
    assertThat(a.absence()).isEmpty();
  }

  @Test
  void missingNamesDefaultToListenFdAndTheFdNumber() {
    SocketActivation a = SocketActivation.parse(env("LISTEN_PID", "4242", "LISTEN_FDS", "2"), PID);
    assertThat(a.fds())
        .containsExactly(new ListenFd(3, "LISTEN_FD_3"), new ListenFd(4, "LISTEN_FD_4"));
  }

  @Test
  void emptyNameDefaultsToo() {
    SocketActivation a =
        SocketActivation.parse(
            env("LISTEN_PID", "4242", "LISTEN_FDS", "3", "LISTEN_FDNAMES", "a::c"), PID);
    assertThat(a.fds()).extracting(ListenFd::name).containsExactly("a", "LISTEN_FD_4", "c");
  }

  @Test
  void listenPidOfAnotherProcessIgnoresTheFds() {
    SocketActivation a =
        SocketActivation.parse(
            env("LISTEN_PID", "4243", "LISTEN_FDS", "2", "LISTEN_FDNAMES", "a:b"), PID);
    assertThat(a.fds()).isEmpty();
    assertThat(a.absence()).hasValue("LISTEN_PID=4243 is not this process (pid 4242)");
  }

  @Test
  void listenPidOfAnotherProcessIgnoresEvenMalformedValues() {
    // libsystemd stops at the pid check: what follows is not meant for us.
    SocketActivation a =
        SocketActivation.parse(
            env("LISTEN_PID", "1", "LISTEN_FDS", "lots", "LISTEN_FDNAMES", "a:b:c"), PID);
    assertThat(a.fds()).isEmpty();
  }

  @Test
  void noListenPidMeansNoSockets() {
    SocketActivation a = SocketActivation.parse(env("LISTEN_FDS", "2"), PID);
    assertThat(a.fds()).isEmpty();
    assertThat(a.absence()).hasValue("LISTEN_PID is not set");
  }

  @Test
  void noListenFdsMeansNoSockets() {
    SocketActivation a = SocketActivation.parse(env("LISTEN_PID", "4242"), PID);
    assertThat(a.fds()).isEmpty();
    assertThat(a.absence()).hasValue("LISTEN_FDS is not set");
    assertThat(SocketActivation.parse(Map.of(), PID).fds()).isEmpty();
  }

  @Test
  void malformedListenFdsNamesTheVariableAndValue() {
    for (String bad :
        List.of("abc", "-1", "0", "", " 2", "+2", "0x2", "2147483645", "99999999999999999999999")) {
      assertThatThrownBy(
              () -> SocketActivation.parse(env("LISTEN_PID", "4242", "LISTEN_FDS", bad), PID))
          .as("LISTEN_FDS=%s", bad)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("LISTEN_FDS=\"" + bad + "\"");
    }
    // The largest count that keeps every fd an int.
    assertThat(SocketActivation.parse(env("LISTEN_PID", "4242", "LISTEN_FDS", "1"), PID).fds())
        .hasSize(1);
  }

  @Test
  void malformedListenPidNamesTheVariableAndValue() {
    for (String bad : List.of("abc", "0", "-4242", "", "4242x", "99999999999")) {
      assertThatThrownBy(
              () -> SocketActivation.parse(env("LISTEN_PID", bad, "LISTEN_FDS", "1"), PID))
          .as("LISTEN_PID=%s", bad)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("LISTEN_PID=\"" + bad + "\"");
    }
  }

  @Test
  void malformedListenPidFdIdIsAnError() {
    assertThatThrownBy(
            () ->
                SocketActivation.parse(
                    env("LISTEN_PID", "4242", "LISTEN_PIDFDID", "x1", "LISTEN_FDS", "1"), PID))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("LISTEN_PIDFDID=\"x1\"");
    assertThat(
            SocketActivation.parse(
                    env("LISTEN_PID", "4242", "LISTEN_PIDFDID", "77", "LISTEN_FDS", "1"), PID)
                .fds())
        .hasSize(1);
  }

  @Test
  void nameCountThatDiffersFromListenFdsIsAnError() {
    for (String names : List.of("a", "a:b:c", "")) {
      assertThatThrownBy(
              () ->
                  SocketActivation.parse(
                      env("LISTEN_PID", "4242", "LISTEN_FDS", "2", "LISTEN_FDNAMES", names), PID))
          .as("LISTEN_FDNAMES=%s", names)
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("LISTEN_FDNAMES=\"" + names + "\"");
    }
  }

  @Test
  void resultIsImmutable() {
    SocketActivation a = SocketActivation.parse(env("LISTEN_PID", "4242", "LISTEN_FDS", "1"), PID);
    assertThatThrownBy(() -> a.fds().clear()).isInstanceOf(UnsupportedOperationException.class);
    assertThatThrownBy(() -> new ListenFd(2, "x")).isInstanceOf(IllegalArgumentException.class);
  }

  @Test
  void stripEnvironmentRemovesActivationNotifyAndWatchdogVariablesOnly() {
    ProcessBuilder pb = new ProcessBuilder("true");
    pb.environment()
        .putAll(
            env(
                "LISTEN_PID",
                "1",
                "LISTEN_PIDFDID",
                "2",
                "LISTEN_FDS",
                "1",
                "LISTEN_FDNAMES",
                "x",
                "NOTIFY_SOCKET",
                "/run/n",
                "WATCHDOG_USEC",
                "1",
                "WATCHDOG_PID",
                "1",
                "LISTEN_OTHER",
                "kept",
                "HOME_X",
                "kept"));
    SocketActivation.stripEnvironment(pb);
    assertThat(pb.environment())
        .doesNotContainKeys(SocketActivation.CHILD_VARIABLES.toArray(String[]::new));
    assertThat(pb.environment())
        .containsEntry("LISTEN_OTHER", "kept")
        .containsEntry("HOME_X", "kept");
  }

  /**
   * In a child JVM started with the LISTEN_* variables: after {@link SocketActivation#inherited()},
   * neither System.getenv nor a grandchild started with an untouched or a copied environment sees
   * them, given the flags the lull jar runs with.
   */
  @Test
  void inheritedRemovesTheVariablesSoGrandchildrenDoNotSeeThem() throws Exception {
    List<String> out =
        runProbe(
            List.of(
                "--add-opens",
                "java.base/java.lang=ALL-UNNAMED",
                "--enable-native-access=ALL-UNNAMED"));
    assertThat(out)
        .containsExactly(
            "removal javaView=true nativeEnvironment=true",
            "getenv LISTEN_FDS=null LISTEN_FDNAMES=null NOTIFY_SOCKET=/run/notify",
            "untouched LISTEN_FDS=unset LISTEN_PID=unset LISTEN_FDNAMES=unset",
            "copied LISTEN_FDS=unset LISTEN_PID=unset LISTEN_FDNAMES=unset",
            "stripped NOTIFY_SOCKET=unset");
  }

  /** Without the flags, removal is reported as incomplete and the helper still strips. */
  @Test
  void withoutFlagsRemovalSaysWhatItCouldNotDo() throws Exception {
    List<String> out = runProbe(List.of());
    assertThat(out.get(0)).isEqualTo("removal javaView=false nativeEnvironment=false");
    assertThat(out.get(3)).isEqualTo("copied LISTEN_FDS=2 LISTEN_PID=1 LISTEN_FDNAMES=a:b");
    assertThat(out.get(4)).isEqualTo("stripped NOTIFY_SOCKET=unset");
  }

  private static List<String> runProbe(List<String> jvmFlags)
      throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>();
    cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    cmd.add("-Xshare:auto");
    cmd.add("-XX:TieredStopAtLevel=1");
    cmd.addAll(jvmFlags);
    cmd.add("-cp");
    cmd.add(System.getProperty("java.class.path"));
    cmd.add(EnvironmentProbe.class.getName());
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.environment()
        .putAll(
            env(
                "LISTEN_PID",
                "1",
                "LISTEN_FDS",
                "2",
                "LISTEN_FDNAMES",
                "a:b",
                "NOTIFY_SOCKET",
                "/run/notify"));
    Process p = pb.start();
    try {
      String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(p.waitFor(60, TimeUnit.SECONDS)).as("probe exits").isTrue();
      assertThat(p.exitValue()).as(text).isZero();
      return text.lines().filter(l -> !l.startsWith("WARNING")).toList();
    } finally {
      p.destroyForcibly();
    }
  }
}
