// Java HttpClient (JSSE: TLS in Java, no OpenSSL) calling the fake provider: the connection-level
// tests' blind client. Usage: java -Djdk.net.hosts.file=F -Djavax.net.ssl.trustStore=T JavaClient URL [BODY [N...]]
// Each N is one HttpClient (one connection, kept alive) making N requests in turn; default: one request.
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

public class JavaClient {
  public static void main(String[] args) throws Exception {
    int[] perClient = args.length > 2 ? new int[args.length - 2] : new int[] {1};
    for (int i = 2; i < args.length; i++) perClient[i - 2] = Integer.parseInt(args[i]);
    for (int n : perClient) {
      HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
      for (int k = 0; k < n; k++) {
        HttpRequest.Builder req = HttpRequest.newBuilder(URI.create(args[0])).timeout(Duration.ofSeconds(20))
            .header("Content-Type", "application/json").header("Authorization", "Bearer sk-test-fake-key-0000");
        req = args.length > 1 ? req.POST(HttpRequest.BodyPublishers.ofString(args[1])) : req.GET();
        HttpResponse<String> r = client.send(req.build(), HttpResponse.BodyHandlers.ofString());
        System.out.println(r.statusCode() + " " + r.version());
        System.out.println(r.body());
      }
    }
  }
}
