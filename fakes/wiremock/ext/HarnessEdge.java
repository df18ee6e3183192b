// The harness's WireMock extension: requests WireMock 3.13.2 cannot parse get a Fiskil-shaped JSON
// answer instead of Jetty's HTML page with a Java stack trace.
//
// Why an extension: WireMock parses the query string and un-gzips the body before any stub, filter
// extension or listener runs (ServeEvent.of, WireMockHttpServletRequestAdapter), and Jetty answers a
// bad request line itself, so no stub mapping can reach these cases. This class plugs in through the
// documented HttpServerFactory extension point and only adds, never replaces, WireMock behaviour:
//
// - RequestGuard (a servlet filter in front of the stub servlet) repairs what WireMock would crash on.
//   An ASCII character java.net.URI refuses in the URL ('"', '\\', '{'...) is percent-encoded, which
//   keeps its meaning. A '%' that starts no %XX escape, or a body that claims to be gzip but is not,
//   cannot be understood: the request is made parseable and marked with the header
//   X-Harness-Edge-Rejected: <reason>, and a stub mapping (fakes/wiremock/rules.py) answers it 400, so
//   it is in the journal like any other request. CONNECT (WireMock keeps it for browser proxying and
//   never journals it) gets 405 here.
// - JsonErrors (Jetty's error handler) answers malformed request lines and anything else Jetty rejects
//   with {"id","name","message"} JSON, never HTML or a stack trace.
// - ProxyFailure (a response transformer) turns WireMock's text/plain "Network failure trying to make a
//   proxied request ... <upstream URL>" into a JSON 502 without the upstream's address.
//
// Built by fakes/wiremock/extension.py with javac against the pinned jar; reasons and their messages
// live in Python (fakes/wiremock/rules.py); only the reason codes are shared.
package fiskilharness.edge;

import com.github.tomakehurst.wiremock.core.Options;
import com.github.tomakehurst.wiremock.extension.ResponseTransformerV2;
import com.github.tomakehurst.wiremock.http.AdminRequestHandler;
import com.github.tomakehurst.wiremock.http.HttpHeader;
import com.github.tomakehurst.wiremock.http.HttpHeaders;
import com.github.tomakehurst.wiremock.http.HttpServer;
import com.github.tomakehurst.wiremock.http.HttpServerFactory;
import com.github.tomakehurst.wiremock.http.Response;
import com.github.tomakehurst.wiremock.http.StubRequestHandler;
import com.github.tomakehurst.wiremock.jetty11.Jetty11HttpServer;
import com.github.tomakehurst.wiremock.stubbing.ServeEvent;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.Enumeration;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.UUID;
import java.util.zip.GZIPInputStream;
import wiremock.jakarta.servlet.DispatcherType;
import wiremock.jakarta.servlet.Filter;
import wiremock.jakarta.servlet.FilterChain;
import wiremock.jakarta.servlet.ReadListener;
import wiremock.jakarta.servlet.RequestDispatcher;
import wiremock.jakarta.servlet.ServletException;
import wiremock.jakarta.servlet.ServletInputStream;
import wiremock.jakarta.servlet.ServletRequest;
import wiremock.jakarta.servlet.ServletResponse;
import wiremock.jakarta.servlet.http.HttpServletRequest;
import wiremock.jakarta.servlet.http.HttpServletRequestWrapper;
import wiremock.jakarta.servlet.http.HttpServletResponse;
import wiremock.org.eclipse.jetty.http.HttpFields;
import wiremock.org.eclipse.jetty.server.Request;
import wiremock.org.eclipse.jetty.server.Server;
import wiremock.org.eclipse.jetty.server.handler.ErrorHandler;
import wiremock.org.eclipse.jetty.servlet.FilterHolder;
import wiremock.org.eclipse.jetty.servlet.ServletContextHandler;

/** The HttpServerFactory extension: WireMock's own Jetty 11 server plus the guard and JSON errors. */
public class HarnessEdge implements HttpServerFactory {
  public static final String MARKER = "X-Harness-Edge-Rejected";
  public static final String BAD_URL = "bad-url";
  public static final String BAD_GZIP_BODY = "bad-gzip-body";
  /** The methods the edge proxies (rules.PROXIED_METHODS), as the 405's Allow header lists them. */
  static final String ALLOWED_METHODS = "GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS";

  @Override
  public String getName() {
    return "fiskil-harness-edge";
  }

  @Override
  public HttpServer buildHttpServer(Options options, AdminRequestHandler admin, StubRequestHandler stubs) {
    return new Jetty11HttpServer(options, admin, stubs) {
      @Override
      protected void applyAdditionalServerConfiguration(Server server, Options opts) {
        super.applyAdditionalServerConfiguration(server, opts);
        server.setErrorHandler(new JsonErrors());
      }

      @Override
      protected void decorateMockServiceContextBeforeConfig(ServletContextHandler context) {
        context.addFilter(new FilterHolder(new RequestGuard()), "/*", EnumSet.of(DispatcherType.REQUEST));
      }
    };
  }

  /** A Fiskil simple-shape error body: {"id": "err_<uuid>", "name", "message"}. */
  static String errorJson(String name, String message) {
    return "{\"id\":\"err_" + UUID.randomUUID() + "\",\"name\":" + quote(name) + ",\"message\":" + quote(message) + "}";
  }

  static String quote(String text) {
    StringBuilder out = new StringBuilder("\"");
    for (char c : text.toCharArray()) {
      if (c == '"' || c == '\\') {
        out.append('\\').append(c);
      } else if (c < 0x20 || c > 0x7e) {
        out.append(String.format("\\u%04x", (int) c));
      } else {
        out.append(c);
      }
    }
    return out.append('"').toString();
  }

  static void writeError(HttpServletResponse response, int status, String name, String message) throws IOException {
    byte[] body = errorJson(name, message).getBytes(StandardCharsets.UTF_8);
    response.setStatus(status);
    response.setContentType("application/json");
    response.setContentLength(body.length);
    response.getOutputStream().write(body);
  }

  /** ASCII characters a URL may carry as they are (RFC 3986 unreserved, reserved and '%'). */
  private static final String URL_SAFE =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@/?[]%";

  /** A '%' that does not start a %XX escape: java.net.URLDecoder throws, and the meaning is unknowable. */
  static boolean badEscapeAt(String part, int i) {
    return part.charAt(i) == '%' && !(i + 2 < part.length() && hex(part.charAt(i + 1)) && hex(part.charAt(i + 2)));
  }

  static boolean hasBadEscape(String part) {
    for (int i = 0; i < part.length(); i++) {
      if (badEscapeAt(part, i)) {
        return true;
      }
    }
    return false;
  }

  /**
   * The URL part WireMock can parse: a bad '%' becomes "%25", and an ASCII character java.net.URI
   * refuses ('"', '\\', '{', '|'...) is percent-encoded, which keeps its meaning. Returns the same
   * string when nothing needed repair.
   */
  static String repair(String part) {
    StringBuilder out = new StringBuilder(part.length() + 8);
    for (int i = 0; i < part.length(); i++) {
      char c = part.charAt(i);
      if (badEscapeAt(part, i)) {
        out.append("%25");
      } else if (c < 0x80 && URL_SAFE.indexOf(c) < 0) {
        out.append(String.format("%%%02X", (int) c));
      } else {
        out.append(c);
      }
    }
    return out.toString();
  }

  private static boolean hex(char c) {
    return Character.digit(c, 16) >= 0;
  }

  /** True when WireMock would try to un-gzip the body (header or magic bytes) and that would fail. */
  static boolean badGzip(String contentEncoding, byte[] body) {
    boolean labelled = contentEncoding != null && contentEncoding.toLowerCase(Locale.ROOT).contains("gzip");
    boolean magic = body.length >= 2 && body[0] == (byte) 0x1f && body[1] == (byte) 0x8b;
    if (!labelled && !magic) {
      return false;
    }
    try (GZIPInputStream in = new GZIPInputStream(new ByteArrayInputStream(body))) {
      in.transferTo(OutputStream.nullOutputStream());  // checked without holding the inflated bytes
      return false;
    } catch (IOException | RuntimeException e) {
      return true;
    }
  }

  /** Repairs what WireMock cannot parse, marks it for the 400 stub, and answers CONNECT with 405. */
  public static class RequestGuard implements Filter {
    @Override
    public void doFilter(ServletRequest req, ServletResponse res, FilterChain chain) throws IOException, ServletException {
      HttpServletRequest request = (HttpServletRequest) req;
      HttpServletResponse response = (HttpServletResponse) res;
      if ("CONNECT".equals(request.getMethod())) {  // the one 405 (fakes/wiremock/rules.py), said here
        String target = request.getRequestURI() == null || request.getRequestURI().isEmpty() ? "/" : request.getRequestURI();
        response.setHeader("Allow", ALLOWED_METHODS);
        writeError(response, 405, "MethodNotAllowed", "CONNECT is not allowed on " + target);
        return;
      }
      String reason = null;
      String uri = request.getRequestURI();
      String query = request.getQueryString();
      String repairedUri = uri == null ? null : repair(uri);
      String repairedQuery = query == null ? null : repair(query);
      boolean urlRepaired = !Objects.equals(uri, repairedUri) || !Objects.equals(query, repairedQuery);
      if ((uri != null && hasBadEscape(uri)) || (query != null && hasBadEscape(query))) {
        reason = BAD_URL;  // the only repair that guesses at meaning: refused, with the 400 stub
      }
      byte[] body = null;
      boolean dropEncoding = false;
      if (hasBody(request)) {
        body = request.getInputStream().readAllBytes();
        if (badGzip(request.getHeader("Content-Encoding"), body)) {
          body = new byte[0];
          dropEncoding = true;
          reason = reason == null ? BAD_GZIP_BODY : reason;
        }
      }
      boolean spoofed = request.getHeader(MARKER) != null;
      boolean untouched = reason == null && body == null && !spoofed && !urlRepaired;
      try {
        chain.doFilter(untouched ? request
            : new Repaired(request, repairedUri, repairedQuery, body, dropEncoding, reason), response);
      } catch (IOException | ServletException | RuntimeException crash) {
        if (response.isCommitted()) {
          throw crash;
        }
        response.reset();
        writeError(response, 500, "InternalServerError", "the edge failed while handling this request ("
            + crash.getClass().getSimpleName() + "); see the fake's console");
      }
    }

    private static boolean hasBody(HttpServletRequest request) {
      return request.getContentLengthLong() > 0 || request.getHeader("Transfer-Encoding") != null;
    }
  }

  /** The request as WireMock should see it: repaired query, buffered body, our marker (only ours). */
  static class Repaired extends HttpServletRequestWrapper {
    private final String uri;
    private final String query;
    private final byte[] body;
    private final boolean dropEncoding;
    private final String reason;

    Repaired(HttpServletRequest request, String uri, String query, byte[] body, boolean dropEncoding, String reason) {
      super(request);
      this.uri = uri;
      this.query = query;
      this.body = body;
      this.dropEncoding = dropEncoding;
      this.reason = reason;
    }

    private boolean hidden(String name) {
      return name.equalsIgnoreCase(MARKER) || (dropEncoding && name.equalsIgnoreCase("Content-Encoding"));
    }

    @Override
    public String getQueryString() {
      return query;
    }

    @Override
    public String getRequestURI() {
      return uri;
    }

    @Override
    public StringBuffer getRequestURL() {
      StringBuffer url = new StringBuffer();
      url.append(getScheme()).append("://").append(getServerName()).append(':').append(getServerPort()).append(uri);
      return url;
    }

    @Override
    public String getHeader(String name) {
      if (name.equalsIgnoreCase(MARKER)) {
        return reason;
      }
      if (hidden(name)) {
        return null;
      }
      if (body != null && name.equalsIgnoreCase("Content-Length")) {
        return Integer.toString(body.length);
      }
      return super.getHeader(name);
    }

    @Override
    public Enumeration<String> getHeaders(String name) {
      String value = getHeader(name);
      if (name.equalsIgnoreCase(MARKER) || hidden(name) || (body != null && name.equalsIgnoreCase("Content-Length"))) {
        return Collections.enumeration(value == null ? List.of() : List.of(value));
      }
      return super.getHeaders(name);
    }

    @Override
    public Enumeration<String> getHeaderNames() {
      List<String> names = new ArrayList<>();
      for (Enumeration<String> all = super.getHeaderNames(); all.hasMoreElements(); ) {
        String name = all.nextElement();
        if (!hidden(name)) {
          names.add(name);
        }
      }
      if (reason != null) {
        names.add(MARKER);
      }
      return Collections.enumeration(names);
    }

    @Override
    public int getContentLength() {
      return body != null ? body.length : super.getContentLength();
    }

    @Override
    public long getContentLengthLong() {
      return body != null ? body.length : super.getContentLengthLong();
    }

    @Override
    public ServletInputStream getInputStream() throws IOException {
      if (body == null) {
        return super.getInputStream();
      }
      ByteArrayInputStream in = new ByteArrayInputStream(body);
      return new ServletInputStream() {
        @Override
        public int read() {
          return in.read();
        }

        @Override
        public int read(byte[] buffer, int offset, int length) {
          return in.read(buffer, offset, length);
        }

        @Override
        public boolean isFinished() {
          return in.available() == 0;
        }

        @Override
        public boolean isReady() {
          return true;
        }

        @Override
        public void setReadListener(ReadListener listener) {
          throw new UnsupportedOperationException("the buffered body is read synchronously");
        }
      };
    }
  }

  /** Jetty's error handler with JSON bodies and no stack traces (bad request lines, crashes). */
  public static class JsonErrors extends ErrorHandler {
    @Override
    public boolean errorPageForMethod(String method) {
      return true;
    }

    @Override
    public void handle(String target, Request baseRequest, HttpServletRequest request, HttpServletResponse response)
        throws IOException {
      int status = response.getStatus() >= 400 ? response.getStatus() : 500;
      baseRequest.setHandled(true);
      response.resetBuffer();
      Object failure = request.getAttribute(RequestDispatcher.ERROR_EXCEPTION);
      String uri = request.getRequestURI();
      String message;
      if (failure instanceof Throwable && uri != null && uri.startsWith("/__admin")) {
        // WireMock's admin API (the tester's tool, not the Fiskil API): its reason, without the stack.
        Throwable cause = (Throwable) failure;
        message = "WireMock's admin API refused this request: " + cause.getClass().getSimpleName() + ": "
            + cause.getMessage();
      } else if (status >= 500) {
        message = "the edge failed while handling this request (see the fake's console)";
      } else {
        message = "the edge could not read this request (HTTP " + status + "); check its encoding";
      }
      writeError(response, status, status >= 500 ? "InternalServerError" : "InvalidRequest", message);
    }

    @Override
    public ByteBuffer badMessageError(int status, String reason, HttpFields.Mutable fields) {
      fields.put("Content-Type", "application/json");
      String detail = reason == null ? "" : ": " + reason;
      String message = "the request could not be parsed" + detail
          + "; check the request line (a path needs valid %XX escapes) and the headers";
      return ByteBuffer.wrap(errorJson(status >= 500 ? "InternalServerError" : "InvalidRequest", message)
          .getBytes(StandardCharsets.UTF_8));
    }
  }

  /** A proxied request that got no answer: JSON 502 instead of text naming the upstream's URL. */
  public static class ProxyFailure implements ResponseTransformerV2 {
    private static final String WIREMOCK_TEXT = "Network failure trying to make a proxied request";

    @Override
    public String getName() {
      return "fiskil-harness-proxy-failure";
    }

    @Override
    public boolean applyGlobally() {
      return true;
    }

    @Override
    public Response transform(Response response, ServeEvent serveEvent) {
      if (!serveEvent.getResponseDefinition().isProxyResponse() || response.getStatus() != 500
          || !response.getBodyAsString().startsWith(WIREMOCK_TEXT)) {
        return response;
      }
      String body = errorJson("BadGateway",
          "the edge got no answer from the API behind it; the fake's core may have stopped (see its console)");
      return Response.Builder.like(response).but().status(502).statusMessage("Bad Gateway")
          .headers(new HttpHeaders(new HttpHeader("Content-Type", "application/json"))).body(body).build();
    }
  }
}
