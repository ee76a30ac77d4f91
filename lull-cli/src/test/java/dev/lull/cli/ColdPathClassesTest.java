package dev.lull.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.List;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * What the build does for a socket-activated start (docs/STARTUP.md), checked on the class files
 * the CLI runs: both choices are invisible in behaviour and cost tens of milliseconds when undone.
 */
class ColdPathClassesTest {
  /**
   * picocli is rebuilt from its sources (module lull-picocli): the jar on Maven Central holds Java
   * 5 class files, which the JDK's AOT cache skips ("Old class has been linked"), so every start
   * loaded and verified ~230 classes from the jar.
   */
  @Test
  void picocliClassesAreOfACurrentClassFileVersion() throws IOException {
    try (InputStream in =
        ColdPathClassesTest.class
            .getClassLoader()
            .getResourceAsStream("picocli/CommandLine.class")) {
      assertThat(in).as("picocli on the class path").isNotNull();
      byte[] head = in.readNBytes(8);
      int major = ((head[6] & 0xff) << 8) | (head[7] & 0xff);
      assertThat(major)
          .as("class-file major version of picocli.CommandLine")
          .isGreaterThanOrEqualTo(65);
    }
  }

  /**
   * Lull's modules are compiled with {@code -XDstringConcat=inline}: an invokedynamic string
   * concatenation is linked (method handles spun, 2-6 ms interpreted) the first time it runs, and a
   * stop's log lines run once.
   */
  @Test
  void lullClassesDoNotLinkStringConcatenationAtRunTime() throws IOException {
    List<String> offenders = new ArrayList<>();
    int scanned = 0;
    for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
      Path p = Path.of(entry);
      if (p.endsWith("test-classes")) continue; // the product's classes, not the tests'
      if (Files.isDirectory(p.resolve("dev/lull"))) {
        try (Stream<Path> files = Files.walk(p.resolve("dev/lull"))) {
          for (Path f : files.filter(f -> f.toString().endsWith(".class")).toList()) {
            scanned++;
            if (usesIndyConcat(Files.readAllBytes(f))) offenders.add(p.relativize(f).toString());
          }
        }
      } else if (entry.endsWith(".jar") && p.getFileName().toString().startsWith("lull-")) {
        try (JarFile jar = new JarFile(p.toFile())) {
          for (Enumeration<JarEntry> e = jar.entries(); e.hasMoreElements(); ) {
            JarEntry je = e.nextElement();
            if (!je.getName().startsWith("dev/lull/") || !je.getName().endsWith(".class")) continue;
            scanned++;
            try (InputStream in = jar.getInputStream(je)) {
              if (usesIndyConcat(in.readAllBytes())) offenders.add(je.getName());
            }
          }
        }
      }
    }
    assertThat(scanned).as("Lull classes found on the class path").isGreaterThan(100);
    assertThat(offenders).as("classes with invokedynamic string concatenation").isEmpty();
  }

  /** The bootstrap method's name, built at run time so that this class does not contain it. */
  private static final String BOOTSTRAP = String.join("", "makeConcat", "WithConstants");

  private static boolean usesIndyConcat(byte[] classFile) {
    return new String(classFile, StandardCharsets.ISO_8859_1).contains(BOOTSTRAP);
  }
}
