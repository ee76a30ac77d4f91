package dev.lull.server;

import dev.lull.server.internal.MatchedRoute;
import dev.lull.server.internal.RouteControl;
import java.io.InputStream;
import java.net.SocketAddress;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/** A request seen through a matched route: the same request plus its path parameters. */
final class RoutedRequest implements Request, MatchedRoute, RouteControl {
  private final Request delegate;
  private final Map<String, String> params;

  RoutedRequest(Request delegate, Map<String, String> params) {
    this.delegate = delegate;
    this.params = params;
  }

  @Override
  public Optional<String> pathParameter(String name) {
    return Optional.ofNullable(params.get(name));
  }

  @Override
  public void matchedRoute(String pattern) {
    if (delegate instanceof MatchedRoute m) m.matchedRoute(pattern);
  }

  @Override
  public void applyRouteOptions(RouteOptions options) {
    // A nested router: the options reach the engine's request.
    if (delegate instanceof RouteControl control) control.applyRouteOptions(options);
  }

  @Override
  public dev.lull.core.Context context() {
    return delegate.context();
  }

  @Override
  public String method() {
    return delegate.method();
  }

  @Override
  public String path() {
    return delegate.path();
  }

  @Override
  public String rawQuery() {
    return delegate.rawQuery();
  }

  @Override
  public Optional<String> query(String name) {
    return delegate.query(name);
  }

  @Override
  public Map<String, List<String>> queryParameters() {
    return delegate.queryParameters();
  }

  @Override
  public Optional<String> header(String name) {
    return delegate.header(name);
  }

  @Override
  public List<String> headers(String name) {
    return delegate.headers(name);
  }

  @Override
  public Set<String> headerNames() {
    return delegate.headerNames();
  }

  @Override
  public String protocol() {
    return delegate.protocol();
  }

  @Override
  public long contentLength() {
    return delegate.contentLength();
  }

  @Override
  public InputStream body() {
    return delegate.body();
  }

  @Override
  public SocketAddress remoteAddress() {
    return delegate.remoteAddress();
  }

  @Override
  public String listener() {
    return delegate.listener();
  }
}
