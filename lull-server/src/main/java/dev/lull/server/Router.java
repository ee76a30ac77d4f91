package dev.lull.server;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;

/**
 * A {@link Handler} that dispatches on method and path pattern. Patterns are literal segments and
 * {@code {name}} parameters, with an optional trailing {@code {name...}} that takes the rest of the
 * path: {@code GET /jobs/{id}}, {@code GET /files/{path...}}. The most specific pattern wins
 * (literal segments before parameters). A path no pattern matches gets 404; a path that matches
 * only for other methods gets 405 with {@code Allow}. {@code HEAD} is served by the {@code GET}
 * route unless a {@code HEAD} route exists.
 *
 * <pre>{@code
 * Router router = Router.builder()
 *     .get("/", (req, res) -> res.send("hello"))
 *     .route("GET /jobs/{id}", jobs::show)
 *     .build();
 * }</pre>
 */
public final class Router implements Handler {
  private final List<Route> routes;

  private Router(List<Route> routes) {
    this.routes = List.copyOf(routes);
  }

  public static Builder builder() {
    return new Builder();
  }

  @Override
  public void handle(Request request, Response response) throws Exception {
    String method = request.method();
    String[] segments = split(request.path());
    Route best = null;
    Map<String, String> bestParams = null;
    Set<String> allowed = new TreeSet<>();
    for (Route route : routes) {
      Map<String, String> params = route.match(segments);
      if (params == null) continue;
      allowed.add(route.method);
      if (route.method.equals("GET")) allowed.add("HEAD");
      boolean methodMatches =
          route.method.equals(method) || (method.equals("HEAD") && route.method.equals("GET"));
      if (!methodMatches) continue;
      if (best == null
          || route.specificity > best.specificity
          || (route.specificity == best.specificity
              && method.equals("HEAD")
              && route.method.equals("HEAD"))) {
        best = route;
        bestParams = params;
      }
    }
    if (best != null) {
      Request routed = bestParams.isEmpty() ? request : new RoutedRequest(request, bestParams);
      best.handler.handle(routed, response);
      return;
    }
    if (allowed.isEmpty()) {
      response.send(404, "not found\n");
    } else {
      if (method.equals("OPTIONS")) {
        allowed.add("OPTIONS");
        response.status(204).header("Allow", String.join(", ", allowed)).send(new byte[0]);
        return;
      }
      response.header("Allow", String.join(", ", allowed)).send(405, "method not allowed\n");
    }
  }

  private static String[] split(String path) {
    String p = path.startsWith("/") ? path.substring(1) : path;
    if (p.isEmpty()) return new String[0];
    return p.split("/", -1);
  }

  /** Builds a {@link Router}. Routes are matched by specificity, not by order of registration. */
  public static final class Builder {
    private final List<Route> routes = new ArrayList<>();

    private Builder() {}

    /**
     * Adds a route written as {@code "METHOD /pattern"}, for example {@code "GET /jobs/{id}"}.
     *
     * @throws IllegalArgumentException if the pattern is malformed or the route already exists
     */
    public Builder route(String methodAndPattern, Handler handler) {
      String s = methodAndPattern.trim();
      int space = s.indexOf(' ');
      if (space <= 0) {
        throw new IllegalArgumentException(
            "route must be \"METHOD /pattern\": \"" + methodAndPattern + "\"");
      }
      return route(s.substring(0, space), s.substring(space + 1).trim(), handler);
    }

    /** Adds a route for {@code method} and {@code pattern}. */
    public Builder route(String method, String pattern, Handler handler) {
      Objects.requireNonNull(handler, "handler");
      String m = method.toUpperCase(Locale.ROOT);
      if (!m.chars().allMatch(c -> c >= 'A' && c <= 'Z')) {
        throw new IllegalArgumentException("invalid method: \"" + method + "\"");
      }
      Route route = Route.parse(m, pattern, handler);
      for (Route r : routes) {
        if (r.method.equals(m) && r.shape().equals(route.shape())) {
          throw new IllegalArgumentException("duplicate route: " + m + " " + pattern);
        }
      }
      routes.add(route);
      return this;
    }

    public Builder get(String pattern, Handler handler) {
      return route("GET", pattern, handler);
    }

    public Builder post(String pattern, Handler handler) {
      return route("POST", pattern, handler);
    }

    public Builder put(String pattern, Handler handler) {
      return route("PUT", pattern, handler);
    }

    public Builder delete(String pattern, Handler handler) {
      return route("DELETE", pattern, handler);
    }

    public Router build() {
      return new Router(routes);
    }
  }

  private static final class Route {
    final String method;
    final String[] literals; // null entry = parameter
    final String[] names;
    final String restName; // non-null when the pattern ends with {name...}
    final int specificity;
    final Handler handler;

    private Route(
        String method, String[] literals, String[] names, String restName, Handler handler) {
      this.method = method;
      this.literals = literals;
      this.names = names;
      this.restName = restName;
      this.handler = handler;
      int s = 0;
      for (String lit : literals) s = s * 4 + (lit != null ? 3 : 2);
      this.specificity = restName == null ? s * 4 + 1 : s * 4;
    }

    static Route parse(String method, String pattern, Handler handler) {
      if (!pattern.startsWith("/")) {
        throw new IllegalArgumentException("pattern must start with '/': \"" + pattern + "\"");
      }
      String[] parts = split(pattern);
      List<String> literals = new ArrayList<>();
      List<String> names = new ArrayList<>();
      String rest = null;
      for (int i = 0; i < parts.length; i++) {
        String part = parts[i];
        if (part.startsWith("{") && part.endsWith("}")) {
          String name = part.substring(1, part.length() - 1);
          if (name.endsWith("...")) {
            if (i != parts.length - 1) {
              throw new IllegalArgumentException(
                  "{name...} must be the last segment: \"" + pattern + "\"");
            }
            rest = name.substring(0, name.length() - 3);
            break;
          }
          if (name.isEmpty() || name.contains("{") || name.contains("}")) {
            throw new IllegalArgumentException("invalid parameter in \"" + pattern + "\"");
          }
          literals.add(null);
          names.add(name);
        } else if (part.contains("{") || part.contains("}")) {
          throw new IllegalArgumentException(
              "a parameter must be a whole segment: \"" + pattern + "\"");
        } else {
          literals.add(part);
          names.add(null);
        }
      }
      return new Route(
          method, literals.toArray(new String[0]), names.toArray(new String[0]), rest, handler);
    }

    String shape() {
      StringBuilder b = new StringBuilder();
      for (String lit : literals) b.append('/').append(lit == null ? "{}" : lit);
      if (restName != null) b.append("/{...}");
      return b.toString();
    }

    Map<String, String> match(String[] segments) {
      if (restName == null
          ? segments.length != literals.length
          : segments.length < literals.length) {
        return null;
      }
      Map<String, String> params = null;
      for (int i = 0; i < literals.length; i++) {
        if (literals[i] != null) {
          if (!literals[i].equals(segments[i])) return null;
        } else {
          if (segments[i].isEmpty()) return null;
          if (params == null) params = new LinkedHashMap<>();
          params.put(names[i], segments[i]);
        }
      }
      if (restName != null) {
        if (params == null) params = new LinkedHashMap<>();
        params.put(
            restName,
            String.join("/", List.of(segments).subList(literals.length, segments.length)));
      }
      return params == null ? Map.of() : params;
    }
  }
}
