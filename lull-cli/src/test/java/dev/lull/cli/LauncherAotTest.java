package dev.lull.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardWatchEventKinds;
import java.nio.file.WatchKey;
import java.nio.file.WatchService;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@code lull} launcher's JDK AOT cache (docs/STARTUP.md): one cache per jar, named after the
 * jar's sha256, made by {@code ./lull aot}, given to the JVM by the next run, not given once the
 * jar changed (the JDK would use a stale one), replaced by a new one in the background, and skipped
 * on a JDK without AOT caches. The launcher runs a small probe jar ({@link AotProbe}) given by
 * {@code LULL_JAR}, which prints the JVM flags it got.
 */
class LauncherAotTest {
  private static final long DEADLINE_SECONDS = 120;

  @TempDir Path dir;

  private static Path launcher() {
    Path p = Path.of(System.getProperty("user.dir")).toAbsolutePath();
    while (p != null && !Files.isRegularFile(p.resolve("lull"))) p = p.getParent();
    assertThat(p).as("the lull launcher above " + System.getProperty("user.dir")).isNotNull();
    return p.resolve("lull");
  }

  private static int javaFeature() {
    return Runtime.version().feature();
  }

  /** A jar whose main class is {@link AotProbe}; {@code variant} changes its bytes. */
  private Path probeJar(String name, String variant) throws IOException {
    Path jar = dir.resolve(name);
    Manifest m = new Manifest();
    m.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
    m.getMainAttributes().put(Attributes.Name.MAIN_CLASS, AotProbe.class.getName());
    String entry = AotProbe.class.getName().replace('.', '/') + ".class";
    try (OutputStream out = Files.newOutputStream(jar);
        JarOutputStream j = new JarOutputStream(out, m);
        InputStream cls = AotProbe.class.getClassLoader().getResourceAsStream(entry)) {
      j.putNextEntry(new JarEntry(entry));
      cls.transferTo(j);
      j.closeEntry();
      j.putNextEntry(new JarEntry("variant.txt"));
      j.write(variant.getBytes(StandardCharsets.UTF_8));
      j.closeEntry();
    }
    return jar;
  }

  private record Run(int code, String out) {}

  private Run launch(Map<String, String> env, String... args) throws Exception {
    List<String> cmd = new ArrayList<>(List.of("bash", launcher().toString()));
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.environment().remove("LULL_JAVA_OPTS");
    pb.environment().remove("CACHE_DIRECTORY");
    pb.environment().putAll(env);
    Process p = pb.start();
    try {
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(p.waitFor(DEADLINE_SECONDS, TimeUnit.SECONDS)).as("launcher exits").isTrue();
      return new Run(p.exitValue(), out);
    } finally {
      p.destroyForcibly();
    }
  }

  private Map<String, String> env(Path jar, Path aotDir, Path javaHome) {
    return Map.of(
        "LULL_JAR", jar.toString(),
        "LULL_AOT_DIR", aotDir.toString(),
        "LULL_AOT_TRAIN_DELAY", "0",
        "JAVA_HOME", javaHome.toString());
  }

  private static String sha256(Path file) throws Exception {
    return HexFormat.of()
        .formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
  }

  private static List<Path> caches(Path aotDir) throws IOException {
    if (!Files.isDirectory(aotDir)) return List.of();
    try (Stream<Path> s = Files.list(aotDir)) {
      return s.filter(p -> p.getFileName().toString().matches("lull-.*\\.aot")).sorted().toList();
    }
  }

  private static Path javaHome() {
    return Path.of(System.getProperty("java.home"));
  }

  @Test
  void theCacheIsKeyedToTheJarUsedByTheNextRunAndReplacedWhenTheJarChanges() throws Exception {
    assumeTrue(javaFeature() >= 25, "AOT caches need JDK 25; this is " + javaFeature());
    Path aotDir = dir.resolve("aot");
    Path jar = probeJar("app.jar", "one");
    Map<String, String> env = env(jar, aotDir, javaHome());

    Run made = launch(env, "aot");
    assertThat(made.code()).as(made.out()).isZero();
    Path first = Path.of(made.out().strip().lines().reduce((a, b) -> b).orElseThrow());
    assertThat(first.getFileName().toString())
        .startsWith("lull-" + sha256(jar).substring(0, 16) + "-");
    assertThat(caches(aotDir)).containsExactly(first);

    Run used = launch(env, "hello");
    assertThat(used.code()).as(used.out()).isZero();
    assertThat(used.out()).contains("probe args=hello").contains("-XX:AOTCache=" + first);
    assertThat(caches(aotDir)).containsExactly(first); // reused, nothing trained again

    // The same path, other bytes: the old cache must not be given to the JVM; a new one is made in
    // the background and the old one removed.
    Files.delete(jar);
    probeJar("app.jar", "two");
    String newKey = "lull-" + sha256(jar).substring(0, 16) + "-";
    try (WatchService watch = FileSystems.getDefault().newWatchService()) {
      aotDir.register(watch, StandardWatchEventKinds.ENTRY_CREATE);
      Run stale = launch(env, "hello");
      assertThat(stale.code()).as(stale.out()).isZero();
      assertThat(stale.out()).contains("probe args=hello").doesNotContain("-XX:AOTCache");
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(DEADLINE_SECONDS);
      while (caches(aotDir).stream()
          .noneMatch(p -> p.getFileName().toString().startsWith(newKey))) {
        long left = deadline - System.nanoTime();
        assertThat(left).as("a cache for the new jar within the deadline").isPositive();
        WatchKey key = watch.poll(left, TimeUnit.NANOSECONDS);
        if (key != null) {
          key.pollEvents();
          key.reset();
        }
      }
    }
    // The move that publishes the new cache comes before the removal of the old one: wait for it
    // through the lock folder that the training holds until it is done.
    Path current =
        caches(aotDir).stream()
            .filter(p -> p.getFileName().toString().startsWith(newKey))
            .findFirst()
            .orElseThrow();
    awaitGone(Path.of(current + ".lock"));
    assertThat(caches(aotDir)).containsExactly(current);
    Run again = launch(env, "hello");
    assertThat(again.out()).contains("-XX:AOTCache=" + current);
  }

  private static void awaitGone(Path p) throws Exception {
    if (!Files.exists(p)) return;
    try (WatchService watch = FileSystems.getDefault().newWatchService()) {
      p.getParent().register(watch, StandardWatchEventKinds.ENTRY_DELETE);
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(DEADLINE_SECONDS);
      while (Files.exists(p)) {
        long left = deadline - System.nanoTime();
        assertThat(left).as(p + " removed within the deadline").isPositive();
        WatchKey key = watch.poll(left, TimeUnit.NANOSECONDS);
        if (key != null) {
          key.pollEvents();
          key.reset();
        }
      }
    }
  }

  @Test
  void theDefaultFlagsComeFirstAndLullJavaOptsOverridesThem() throws Exception {
    Path jar = probeJar("app.jar", "one");
    Map<String, String> env = new HashMap<>(env(jar, dir.resolve("aot"), javaHome()));
    env.put("LULL_AOT", "0");

    Run plain = launch(env, "hello");
    assertThat(plain.code()).as(plain.out()).isZero();
    assertThat(jvmFlags(plain.out()))
        .contains("-XX:+UseSerialGC", "-Xms16m", "-Xmx256m", "-XX:CompileThresholdScaling=10");

    // A heap flag replaces the default of its kind; a JIT flag is given after the default, and
    // the JVM takes the last occurrence of an -XX flag.
    env.put("LULL_JAVA_OPTS", "-Xmx1g -XX:CompileThresholdScaling=1");
    Run custom = launch(env, "hello");
    assertThat(custom.code()).as(custom.out()).isZero();
    List<String> flags = jvmFlags(custom.out());
    assertThat(flags).contains("-Xmx1g", "-Xms16m").doesNotContain("-Xmx256m");
    assertThat(flags.lastIndexOf("-XX:CompileThresholdScaling=1"))
        .isGreaterThan(flags.indexOf("-XX:CompileThresholdScaling=10"));
  }

  /** The JVM's input arguments as {@link AotProbe} printed them. */
  private static List<String> jvmFlags(String out) {
    int at = out.indexOf(" jvm=[");
    assertThat(at).as(out).isNotNegative();
    String list = out.substring(at + " jvm=[".length(), out.indexOf(']', at));
    return List.of(list.split(", "));
  }

  @Test
  void aJdkWithoutAotCachesRunsWithoutOne() throws Exception {
    // A JDK 21 as the launcher sees it: its release file says 21; the binaries are this JDK's.
    Path jdk = dir.resolve("jdk21");
    Files.createDirectories(jdk.resolve("bin"));
    for (String tool : List.of("java", "javac")) {
      Files.createSymbolicLink(
          jdk.resolve("bin").resolve(tool), javaHome().resolve("bin").resolve(tool));
    }
    Files.writeString(
        jdk.resolve("release"), "JAVA_VERSION=\"21.0.4\"\nJAVA_RUNTIME_VERSION=\"21.0.4+7\"\n");
    Path aotDir = dir.resolve("aot21");
    Map<String, String> env = env(probeJar("app.jar", "one"), aotDir, jdk);

    Run run = launch(env, "hello");
    assertThat(run.code()).as(run.out()).isZero();
    assertThat(run.out()).contains("probe args=hello").doesNotContain("AOTCache");
    Run aot = launch(env, "aot");
    assertThat(aot.code()).isEqualTo(1);
    assertThat(aot.out()).contains("needs JDK >= 25");
    assertThat(caches(aotDir)).isEmpty();
  }
}
