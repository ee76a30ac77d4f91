package dev.lull.server.internal;

import dev.lull.server.Request;
import dev.lull.server.RouteOptions;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.QueryStringDecoder;
import java.io.InputStream;
import java.net.SocketAddress;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

final class NettyRequest implements Request, MatchedRoute, RouteControl {
  private final Exchange ex;
  private final HttpHeaders headers;
  private QueryStringDecoder uri;

  NettyRequest(Exchange ex) {
    this.ex = ex;
    this.headers = ex.request.headers();
  }

  private QueryStringDecoder uri() {
    QueryStringDecoder u = uri;
    if (u == null) {
      String raw = ex.request.uri();
      // Absolute form (RFC 9112 3.2.2): keep the path and query.
      if (raw.startsWith("http://") || raw.startsWith("https://")) {
        int slash = raw.indexOf('/', raw.indexOf("//") + 2);
        raw = slash < 0 ? "/" : raw.substring(slash);
      }
      // ';' separates nothing (WHATWG URL, Go since 1.17): "a=1;2" is a=["1;2"].
      u = QueryStringDecoder.builder().semicolonIsNormalChar(true).build(raw);
      uri = u;
    }
    return u;
  }

  @Override
  public void matchedRoute(String pattern) {
    ex.route = pattern;
  }

  @Override
  public void applyRouteOptions(RouteOptions options) {
    ex.applyRouteOptions(options);
  }

  @Override
  public dev.lull.core.Context context() {
    return ex.context();
  }

  @Override
  public String method() {
    return ex.request.method().name();
  }

  @Override
  public String path() {
    return uri().path();
  }

  @Override
  public String rawQuery() {
    return uri().rawQuery();
  }

  @Override
  public Optional<String> query(String name) {
    List<String> values = uri().parameters().get(name);
    return values == null || values.isEmpty() ? Optional.empty() : Optional.of(values.get(0));
  }

  @Override
  public Map<String, List<String>> queryParameters() {
    return uri().parameters();
  }

  @Override
  public Optional<String> header(String name) {
    return Optional.ofNullable(headers.get(name));
  }

  @Override
  public List<String> headers(String name) {
    return headers.getAll(name);
  }

  @Override
  public Set<String> headerNames() {
    Set<String> names = new LinkedHashSet<>();
    for (Iterator<Map.Entry<CharSequence, CharSequence>> it = headers.iteratorCharSequence();
        it.hasNext(); ) {
      names.add(it.next().getKey().toString().toLowerCase(Locale.ROOT));
    }
    return Collections.unmodifiableSet(names);
  }

  @Override
  public String protocol() {
    return ex.request.protocolVersion().text();
  }

  @Override
  public long contentLength() {
    if (ex.declaredLength >= 0) return ex.declaredLength;
    return io.netty.handler.codec.http.HttpUtil.isTransferEncodingChunked(ex.request) ? -1 : 0;
  }

  @Override
  public InputStream body() {
    return ex.body;
  }

  @Override
  public SocketAddress remoteAddress() {
    SocketAddress a = ex.conn.channel.remoteAddress();
    if (a instanceof io.netty.channel.unix.DomainSocketAddress d) {
      return java.net.UnixDomainSocketAddress.of(d.path());
    }
    return a;
  }

  @Override
  public String listener() {
    return ex.conn.listenerName;
  }

  @Override
  public String toString() {
    return method() + " " + ex.request.uri();
  }
}
