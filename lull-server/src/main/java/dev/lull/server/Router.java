package dev.lull.server;

import dev.lull.server.internal.MatchedRoute;
import dev.lull.server.internal.RouteControl;
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
 * path: {@code GET /jobs/{id}}, {@code GET /files/{path...}} (which matches {@code /files/} and
 * below, not {@code /files}). Patterns match the decoded path ({@link Request#path()}). The most
 * specific pattern wins: comparing segments from the left, a literal beats a parameter, which beats
 * a rest parameter. A path no pattern matches gets 404; a path that matches only for other methods
 * gets 405 with {@code Allow} ({@code OPTIONS} gets 204 with it). {@code HEAD} is served by the
 * {@code GET} route unless an equally specific {@code HEAD} route exists.
 *
 * <p>A route may carry {@link RouteOptions} (its own deadline, timeout status, interruption on
 * cancel); the router hands them to the engine before calling the route's handler.
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
    boolean head = method.equals("HEAD");
    String[] segments = split(request.path());
    Route best = null;
    Map<String, String> bestParams = null;
    boolean pathKnown = false;
    for (Route route : routes) {
      boolean methodMatches = route.method.equals(method) || (head && route.method.equals("GET"));
      if (!methodMatches) {
        if (!pathKnown && route.matches(segments)) pathKnown = true;
        continue;
      }
      Map<String, String> params = route.match(segments);
      if (params == null) continue;
      int cmp = best == null ? 1 : route.compareSpecificity(best);
      // Equally specific: a HEAD route beats the GET route for HEAD.
      if (cmp > 0 || (cmp == 0 && head && route.method.equals("HEAD"))) {
        best = route;
        bestParams = params;
      }
    }
    if (best != null) {
      // Tells the engine which route served the request, for metrics labelled by pattern.
      if (request instanceof MatchedRoute m) m.matchedRoute(best.pattern);
      if (best.options != null && request instanceof RouteControl control) {
        control.applyRouteOptions(best.options);
      }
      Request routed = bestParams.isEmpty() ? request : new RoutedRequest(request, bestParams);
      best.handler.handle(routed, response);
      return;
    }
    if (!pathKnown) {
      response.send(404, "not found\n");
      return;
    }
    Set<String> allowed = new TreeSet<>();
    for (Route route : routes) {
      if (!route.matches(segments)) continue;
      allowed.add(route.method);
      if (route.method.equals("GET")) allowed.add("HEAD");
    }
    if (method.equals("OPTIONS")) {
      allowed.add("OPTIONS");
      response.status(204).header("Allow", String.join(", ", allowed)).send(new byte[0]);
      return;
    }
    response.header("Allow", String.join(", ", allowed)).send(405, "method not allowed\n");
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
      return add(methodAndPattern, handler, null);
    }

    /**
     * Adds a route written as {@code "METHOD /pattern"} whose requests run with {@code options}
     * (deadline, timeout status, interruption), for example {@code route("GET /report", reports,
     * RouteOptions.builder().timeout(Duration.ofMinutes(2)).build())}.
     *
     * @throws IllegalArgumentException if the pattern is malformed or the route already exists
     */
    public Builder route(String methodAndPattern, Handler handler, RouteOptions options) {
      return add(methodAndPattern, handler, Objects.requireNonNull(options, "options"));
    }

    private Builder add(String methodAndPattern, Handler handler, RouteOptions options) {
      String s = methodAndPattern.trim();
      int space = s.indexOf(' ');
      if (space <= 0) {
        throw new IllegalArgumentException(
            "route must be \"METHOD /pattern\": \"" + methodAndPattern + "\"");
      }
      return add(s.substring(0, space), s.substring(space + 1).trim(), handler, options);
    }

    /** Adds a route for {@code method} and {@code pattern}. */
    public Builder route(String method, String pattern, Handler handler) {
      return add(method, pattern, handler, null);
    }

    /**
     * Adds a route for {@code method} and {@code pattern} whose requests run with {@code options}.
     */
    public Builder route(String method, String pattern, Handler handler, RouteOptions options) {
      return add(method, pattern, handler, Objects.requireNonNull(options, "options"));
    }

    private Builder add(String method, String pattern, Handler handler, RouteOptions options) {
      Objects.requireNonNull(handler, "handler");
      String m = method.toUpperCase(Locale.ROOT);
      if (!m.chars().allMatch(c -> c >= 'A' && c <= 'Z')) {
        throw new IllegalArgumentException("invalid method: \"" + method + "\"");
      }
      Route route = Route.parse(m, pattern, handler, options);
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
    final String pattern;
    final String[] literals; // null entry = parameter
    final String[] names;
    final String restName; // non-null when the pattern ends with {name...}
    final byte[] ranks; // per segment: literal 3, parameter 2, rest 1
    final boolean hasParams;
    final Handler handler;
    final RouteOptions options; // null: none, the hot path does not touch the engine

    private Route(
        String method,
        String pattern,
        String[] literals,
        String[] names,
        String restName,
        Handler handler,
        RouteOptions options) {
      this.method = method;
      this.pattern = pattern;
      this.options = options;
      this.literals = literals;
      this.names = names;
      this.restName = restName;
      this.handler = handler;
      this.ranks = new byte[literals.length + (restName == null ? 0 : 1)];
      for (int i = 0; i < literals.length; i++) ranks[i] = (byte) (literals[i] != null ? 3 : 2);
      if (restName != null) ranks[literals.length] = 1;
      boolean params = restName != null;
      for (String lit : literals) params |= lit == null;
      this.hasParams = params;
    }

    /**
     * Positive if this route is more specific than {@code other} for a path both match: at the
     * first segment where they differ, a literal beats a parameter, which beats a rest parameter.
     */
    int compareSpecificity(Route other) {
      int n = Math.min(ranks.length, other.ranks.length);
      for (int i = 0; i < n; i++) {
        if (ranks[i] != other.ranks[i]) return ranks[i] - other.ranks[i];
      }
      return ranks.length - other.ranks.length;
    }

    boolean matches(String[] segments) {
      // A rest parameter needs its segment, even empty: /files/{p...} matches /files/ not /files.
      if (restName == null
          ? segments.length != literals.length
          : segments.length <= literals.length) {
        return false;
      }
      for (int i = 0; i < literals.length; i++) {
        if (literals[i] != null ? !literals[i].equals(segments[i]) : segments[i].isEmpty()) {
          return false;
        }
      }
      return true;
    }

    static Route parse(String method, String pattern, Handler handler, RouteOptions options) {
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
            if (rest.isEmpty() || rest.contains("{") || rest.contains("}")) {
              throw new IllegalArgumentException("invalid parameter in \"" + pattern + "\"");
            }
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
          method,
          pattern,
          literals.toArray(new String[0]),
          names.toArray(new String[0]),
          rest,
          handler,
          options);
    }

    String shape() {
      StringBuilder b = new StringBuilder();
      for (String lit : literals) b.append('/').append(lit == null ? "{}" : lit);
      if (restName != null) b.append("/{...}");
      return b.toString();
    }

    Map<String, String> match(String[] segments) {
      if (!matches(segments)) return null;
      if (!hasParams) return Map.of();
      Map<String, String> params = new LinkedHashMap<>();
      for (int i = 0; i < literals.length; i++) {
        if (literals[i] == null) params.put(names[i], segments[i]);
      }
      if (restName != null) {
        params.put(
            restName,
            String.join("/", List.of(segments).subList(literals.length, segments.length)));
      }
      return params;
    }
  }
}
