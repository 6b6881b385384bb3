// Java HttpClient (JSSE: TLS in Java, no OpenSSL) calling the fake provider: the connection-level
// test's blind client. Usage: java -Djdk.net.hosts.file=F -Djavax.net.ssl.trustStore=T JavaClient URL BODY
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

public class JavaClient {
  public static void main(String[] args) throws Exception {
    HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    HttpRequest.Builder req = HttpRequest.newBuilder(URI.create(args[0])).timeout(Duration.ofSeconds(20))
        .header("Content-Type", "application/json").header("Authorization", "Bearer sk-test-fake-key-0000");
    req = args.length > 1 ? req.POST(HttpRequest.BodyPublishers.ofString(args[1])) : req.GET();
    HttpResponse<String> r = client.send(req.build(), HttpResponse.BodyHandlers.ofString());
    System.out.println(r.statusCode() + " " + r.version());
    System.out.println(r.body());
  }
}
