import Foundation
import Synchronization
import Testing
@testable import OttoHTTP

/// SigV4 against AWS's published aws-sig-v4-test-suite (docs.aws.amazon.com/general/latest/gr/signature-v4-test-suite.html):
/// every case's inputs (credentials, region `us-east-1`, service `service`, 2015-08-30T12:36:00Z, the request) and its
/// expected signature are reproduced here. moto never checks signatures, so these vectors are what proves ours.
@Suite struct SigV4SignerTests {
    static let credentials = AWSCredentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    static let date = Date(timeIntervalSince1970: 1_440_938_160)  // 2015-08-30T12:36:00Z
    static let emptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    static let stsToken = "AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA=="

    struct Vector: Sendable, CustomTestStringConvertible {
        var name: String
        var method: HTTPMethod
        var path: String
        var headers: [String: String] = [:]
        var body: String = ""
        var sessionToken: String?
        var signedHeaders = "host;x-amz-date"
        var signature: String
        /// The expected canonical request and string to sign, for the cases whose intermediate values are published.
        var canonicalRequest: String?
        var stringToSign: String?

        var testDescription: String { name }
    }

    static let vectors: [Vector] = [
        Vector(name: "get-vanilla", method: .get, path: "/",
               signature: "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31",
               canonicalRequest: "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" + emptyHash),
        Vector(name: "get-vanilla-query-order-key-case", method: .get, path: "/?Param2=value2&Param1=value1",
               signature: "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"),
        Vector(name: "get-vanilla-query-order-value", method: .get, path: "/?Param1=value2&Param1=value1",
               signature: "5772eed61e12b33fae39ee5e7012498b51d56abc0abb7c60486157bd471c4694"),
        Vector(name: "get-vanilla-utf8-query", method: .get, path: "/?%E1%88%B4=bar",
               signature: "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04",
               canonicalRequest: "GET\n/\n%E1%88%B4=bar\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" + emptyHash,
               stringToSign: "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\neb30c5bed55734080471a834cc727ae56beb50e5f39d1bff6d0d38cb192a7073"),
        Vector(name: "get-vanilla-query-unreserved", method: .get,
               path: "/?-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz=-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
               signature: "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197",
               stringToSign: "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\nc30d4703d9f799439be92736156d47ccfb2d879ddf56f5befa6d1d6aab979177"),
        Vector(name: "get-unreserved", method: .get, path: "/-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
               signature: "07ef7494c76fa4850883e2b006601f940f8a34d404d0cfa977f52a65bbf5f24f"),
        Vector(name: "get-header-value-trim", method: .get, path: "/",
               headers: ["My-Header1": " value1", "My-Header2": "\"a   b   c\""], signedHeaders: "host;my-header1;my-header2;x-amz-date",
               signature: "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"),
        Vector(name: "post-vanilla", method: .post, path: "/",
               signature: "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b",
               stringToSign: "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n553f88c9e4d10fc9e109e2aeb65f030801b70c2f6468faca261d401ae622fc87"),
        Vector(name: "post-vanilla-query", method: .post, path: "/?Param1=value1",
               signature: "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11",
               canonicalRequest: "POST\n/\nParam1=value1\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n" + emptyHash,
               stringToSign: "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n9d659678c1756bb3113e2ce898845a0a79dbbc57b740555917687f1b3340fbbd"),
        Vector(name: "post-header-key-sort", method: .post, path: "/", headers: ["My-Header1": "value1"],
               signedHeaders: "host;my-header1;x-amz-date", signature: "c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c",
               stringToSign: "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n9368318c2967cf6de74404b30c65a91e8f6253e0a8659d6d5319f1a812f87d65"),
        Vector(name: "post-header-value-case", method: .post, path: "/", headers: ["My-Header1": "VALUE1"],
               signedHeaders: "host;my-header1;x-amz-date", signature: "cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d"),
        Vector(name: "post-x-www-form-urlencoded", method: .post, path: "/",
               headers: ["Content-Type": "application/x-www-form-urlencoded"], body: "Param1=value1",
               signedHeaders: "content-type;host;x-amz-date", signature: "ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"),
        Vector(name: "post-x-www-form-urlencoded-parameters", method: .post, path: "/",
               headers: ["Content-Type": "application/x-www-form-urlencoded; charset=utf8"], body: "Param1=value1",
               signedHeaders: "content-type;host;x-amz-date", signature: "1a72ec8f64bd914b0e42e42607c7fbce7fb2c7465f63e3092b3b0d39fa77a6fe"),
        Vector(name: "post-sts-header-before", method: .post, path: "/", sessionToken: stsToken,
               signedHeaders: "host;x-amz-date;x-amz-security-token",
               signature: "85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead"),
    ]

    @Test(arguments: vectors) func matchesTheAWSTestSuite(_ vector: Vector) {
        var credentials = Self.credentials
        credentials.sessionToken = vector.sessionToken
        let signer = SigV4Signer(credentials: credentials, region: "us-east-1", service: "service")
        let request = HTTPRequest(method: vector.method, url: "https://example.amazonaws.com" + vector.path, headers: vector.headers,
                                  body: Array(vector.body.utf8))
        let parts = signer.signature(for: request, at: Self.date)
        if let canonical = vector.canonicalRequest { #expect(parts.canonicalRequest == canonical) }
        if let stringToSign = vector.stringToSign { #expect(parts.stringToSign == stringToSign) }
        #expect(parts.signedHeaders == vector.signedHeaders)
        #expect(parts.signature == vector.signature)
        #expect(parts.authorization
            == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=\(vector.signedHeaders), Signature=\(vector.signature)")

        let signed = signer.sign(request, at: Self.date)
        #expect(signed.headers["Authorization"] == parts.authorization)
        #expect(signed.headers["X-Amz-Date"] == "20150830T123600Z")
        #expect(signed.headers["Host"] == "example.amazonaws.com")
        #expect(signed.headers["X-Amz-Security-Token"] == vector.sessionToken)
        #expect(signed.body == request.body)
    }

    @Test func signsThePortAndReplacesStaleHeaders() {
        let signer = SigV4Signer(credentials: Self.credentials, region: "eu-west-1", service: "ec2", signsPayloadHash: true)
        let request = HTTPRequest(method: .post, url: "http://127.0.0.1:5000/?b=2&a=1#fragment",
                                  headers: ["authorization": "old", "x-amz-date": "19700101T000000Z", "User-Agent": "otto", "Content-Length": "0"])
        let parts = signer.signature(for: request, at: Self.date)
        #expect(parts.headers["Host"] == "127.0.0.1:5000")
        #expect(parts.headers["authorization"] == nil && parts.headers["x-amz-date"] == nil)
        #expect(parts.headers["X-Amz-Content-SHA256"] == Self.emptyHash)
        // User-Agent and Content-Length are sent but never signed (proxies and libcurl rewrite them).
        #expect(parts.signedHeaders == "host;x-amz-content-sha256;x-amz-date")
        #expect(parts.canonicalRequest.hasPrefix("POST\n/\na=1&b=2\nhost:127.0.0.1:5000\n"))
        #expect(parts.authorization.contains("Credential=AKIDEXAMPLE/20150830/eu-west-1/ec2/aws4_request"))
        // The default port is not part of the signed host.
        #expect(SigV4URL("https://example.amazonaws.com:443/x").host == "example.amazonaws.com")
        #expect(SigV4URL("http://user:pw@Example.com:80").host == "example.com")
        #expect(SigV4URL("http://user:pw@Example.com:80").path == "/")
    }

    @Test func pathsAreEncodedTheWayTheSDKsDo() {
        // Every segment is URI-encoded once more: an escape in the path becomes %25XX (all services but S3).
        #expect(SigV4URL("https://h/2013-04-01/hostedzone/Z1%2A/rrset").canonicalPath == "/2013-04-01/hostedzone/Z1%252A/rrset")
        #expect(SigV4URL("https://h/a b").canonicalPath == "/a%20b")
        #expect(SigV4URL("https://h/?a=%20&b=c+d&flag").canonicalQuery == "a=%20&b=c%2Bd&flag=")
        #expect(SigV4Signer.uriEncode("a/b ~*", keepSlash: true) == "a/b%20~%2A")
    }

    @Test func secretsNeverShowInDescriptions() {
        let credentials = AWSCredentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                                         sessionToken: "SESSIONTOKEN")
        let signer = SigV4Signer(credentials: credentials, region: "us-east-1", service: "ec2")
        for text in [String(describing: credentials), String(reflecting: credentials), "\(credentials)"] {
            #expect(text.contains("AKIDEXAMPLE"))
            #expect(!text.contains("wJalrXUtnFEMI"))
            #expect(!text.contains("SESSIONTOKEN"))
        }
        let parts = signer.signature(for: HTTPRequest(url: "https://ec2.us-east-1.amazonaws.com/"), at: Self.date)
        #expect(!parts.canonicalRequest.contains("wJalrXUtnFEMI") && !parts.stringToSign.contains("wJalrXUtnFEMI"))
        #expect(!parts.authorization.contains("wJalrXUtnFEMI"))
    }

    @Test func xmlErrorBodiesGiveCodeAndMessage() {
        let ec2 = #"<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>InvalidAMIID.Malformed</Code><Message>Invalid id: &quot;xyz&quot; (expecting &quot;ami-...&quot;)</Message></Error></Errors><RequestID>r</RequestID></Response>"#
        #expect(HTTPError.serverMessage(from: Array(ec2.utf8)) == #"InvalidAMIID.Malformed: Invalid id: "xyz" (expecting "ami-...")"#)
        let route53 = "<ErrorResponse><Error><Type>Sender</Type><Code>NoSuchHostedZone</Code><Message>No hosted zone found with ID: Z1</Message></Error></ErrorResponse>"
        #expect(HTTPError.serverMessage(from: Array(route53.utf8)) == "NoSuchHostedZone: No hosted zone found with ID: Z1")
        #expect(HTTPError.serverMessage(from: Array("<html>oops</html>".utf8)) == "<html>oops</html>")
        // Entities and character references are resolved (by XMLTree, the one XML reader).
        let escaped = "<Error><Code>Bad</Code><Message>a &lt;b&gt; &amp;amp; &#65;&#x42;</Message></Error>"
        #expect(HTTPError.serverMessage(from: Array(escaped.utf8)) == "Bad: a <b> &amp; AB")
        // A body that is not well-formed XML (an unknown entity, a bare `&`) is shown as text.
        let malformed = "<Error><Code>Bad</Code><Message>x &bogus; &</Message></Error>"
        #expect(HTTPError.serverMessage(from: Array(malformed.utf8)) == malformed)
    }

    /// A signer that counts its calls and stamps each attempt.
    final class CountingSigner: HTTPRequestSigner {
        let calls = Mutex(0)
        func sign(_ request: HTTPRequest, at date: Date) -> HTTPRequest {
            let n = calls.withLock { $0 += 1; return $0 }
            var signed = request
            signed.headers["X-Attempt"] = String(n)
            return signed
        }
    }

    @Test func theClientSignsEveryAttempt() async throws {
        let server = try await TestHTTPServer.start()
        defer { server.stop() }
        let client = HTTPClient(configuration: HTTPClientConfiguration(retry: RetryPolicy(maxAttempts: 4, baseDelay: .milliseconds(10))))
        let signer = CountingSigner()
        let response = try await client.send(HTTPRequest(url: server.baseURL + "/fail/sig/2/503", signer: signer))
        #expect(response.status == 200)
        #expect(signer.calls.withLock { $0 } == 3)

        let sigv4 = SigV4Signer(credentials: Self.credentials, region: "us-east-1", service: "ec2")
        let echoed = try await client.send(HTTPRequest(method: .post, url: server.baseURL + "/echo", body: Array("Action=X".utf8), signer: sigv4))
        struct Echo: Decodable { var headers: [String: String] }
        let headers = try echoed.decode(Echo.self).headers
        #expect(headers["authorization"]?.hasPrefix("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/") == true)
        #expect(headers["x-amz-date"]?.count == 16)
        #expect(headers["host"] == "127.0.0.1:\(server.port)")
    }
}
