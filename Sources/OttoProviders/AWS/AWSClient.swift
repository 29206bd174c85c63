import Foundation
import OttoCore
import OttoHTTP

/// Signed calls to EC2 (Query API, version 2016-11-15) and Route53 (REST/XML, 2013-04-01) for one account and
/// region. Every request is SigV4-signed (at each attempt) and takes a token from the account's bucket: one for EC2
/// in the region, a separate one for Route53.
struct AWSClient: Sendable {
    /// EC2's API version.
    static let ec2Version = "2016-11-15"
    /// Route53's API version (also the first path segment).
    static let route53Version = "2013-04-01"
    /// Route53's XML namespace.
    static let route53Namespace = "https://route53.amazonaws.com/doc/2013-04-01/"

    let providerName: String
    let http: HTTPClient
    /// `https://ec2.REGION.amazonaws.com/` or the endpoint override + `/`.
    let ec2URL: String
    /// `https://route53.amazonaws.com/2013-04-01` or the endpoint override + `/2013-04-01`.
    let route53URL: String
    let ec2Signer: SigV4Signer
    let route53Signer: SigV4Signer
    let ec2Limiter: RateLimiter
    let route53Limiter: RateLimiter
    let timeout: Duration
    /// The access key id and where the credentials came from, for auth hints (never the secret).
    let accessKeyID: String
    let credentialsOrigin: String
    /// `MaxResults` of paginated EC2 lists (EC2 allows 5 to 1000).
    var ec2PageSize = 1000
    /// ChangeResourceRecordSets calls sent (shows how well record changes were coalesced).
    let changeBatches = Counter()

    init(providerName: String, settings: AWSSettings, http: HTTPClient) {
        self.providerName = providerName
        self.http = http
        if let endpoint = settings.endpoint {
            ec2URL = endpoint + "/"
            route53URL = endpoint + "/" + Self.route53Version
        } else {
            ec2URL = "https://ec2.\(settings.region).amazonaws.com/"
            route53URL = "https://route53.amazonaws.com/" + Self.route53Version
        }
        ec2Signer = SigV4Signer(credentials: settings.credentials, region: settings.region, service: "ec2")
        route53Signer = SigV4Signer(credentials: settings.credentials, region: "us-east-1", service: "route53")
        let account = "aws:\(settings.credentials.accessKeyID):\(settings.region)"
        ec2Limiter = RateLimiter.shared(account: account, rate: settings.rateLimit, burst: settings.burst)
        route53Limiter = RateLimiter.shared(account: account + ":route53", rate: settings.route53RateLimit, burst: settings.route53Burst)
        timeout = settings.timeout
        accessKeyID = settings.credentials.accessKeyID
        credentialsOrigin = settings.credentialsOrigin
    }

    /// Calls EC2 `action` (a form-encoded POST) and returns the response document's root.
    ///
    /// `idempotent` says whether the HTTP client may resend it after a failure the server may have acted on:
    /// true for Describe*, tags, terminate, authorize/revoke (a repeat fails harmlessly or does nothing).
    /// - Throws: `AWSServiceError` when EC2 answered with an error, `HTTPError` when it did not answer.
    func ec2(_ action: String, _ query: EC2Query = EC2Query(), idempotent: Bool) async throws -> XMLTree {
        var request = HTTPRequest(method: .post, url: ec2URL,
                                  headers: ["Content-Type": "application/x-www-form-urlencoded; charset=utf-8"],
                                  body: Array(query.body(action: action, version: Self.ec2Version).utf8), timeout: timeout,
                                  idempotent: idempotent, limiter: ec2Limiter, label: providerName, signer: ec2Signer)
        request.retry = .cloudAPI
        return try await exchange(request)
    }

    /// Calls Route53: `path` below `/2013-04-01` (`/hostedzone`), query parameters, an XML body.
    /// - Throws: `AWSServiceError` when Route53 answered with an error, `HTTPError` when it did not answer.
    func route53(_ method: HTTPMethod, _ path: String, query: [(String, String)] = [], body: String? = nil,
                 idempotent: Bool? = nil) async throws -> XMLTree {
        var url = route53URL + path
        if !query.isEmpty {
            url += "?" + query.map { SigV4Signer.uriEncode($0.0) + "=" + SigV4Signer.uriEncode($0.1) }.joined(separator: "&")
        }
        var headers: [String: String] = [:]
        if body != nil { headers["Content-Type"] = "application/xml" }
        var request = HTTPRequest(method: method, url: url, headers: headers, body: Array((body ?? "").utf8), timeout: timeout,
                                  idempotent: idempotent, limiter: route53Limiter, label: providerName, signer: route53Signer)
        request.retry = .cloudAPI
        return try await exchange(request)
    }

    /// Sends, parses the XML answer, and retries (up to 5 times, with backoff) when AWS says to slow down with a
    /// status the HTTP client does not retry (Route53's 400 `Throttling`): such a request was not processed.
    private func exchange(_ request: HTTPRequest) async throws -> XMLTree {
        var throttled = 0
        while true {
            do {
                let response = try await http.send(request)
                guard !response.body.isEmpty else { return XMLTree(name: "") }
                return try XMLTree.parse(response.body)
            } catch let error as HTTPError where error.code == "http.status" {
                let aws = AWSServiceError(error)
                guard aws.isThrottling, throttled < 5 else { throw aws }
                throttled += 1
                let wait = Duration.milliseconds(Int.random(in: 100...(200 << throttled)))
                await request.limiter?.pause(for: wait)
                try await Task.sleep(for: wait)
            }
        }
    }

    /// Turns a failure into an `OttoError` with AWS's own code and message and, for refused credentials, a hint.
    /// Credentials never appear in it (the access key id, which is not secret, does).
    func wrap(_ error: any Error, doing action: String) -> any Error {
        switch error {
        case let aws as AWSServiceError:
            if aws.isAuthFailure {
                return OttoError("provider.aws.auth",
                                 "AWS refused the credentials of provider `\(providerName)` while trying to \(action): \(aws). Check the access key \(accessKeyID) (from \(credentialsOrigin)), its secret and session token, the permissions of that key for this call, and the system clock",
                                 causeText: aws.httpDescription)
            }
            if aws.isThrottling {
                return OttoError("provider.aws.throttled",
                                 "AWS kept throttling provider `\(providerName)` while trying to \(action): \(aws); lower `rate_limit` or run fewer actions at once",
                                 causeText: aws.httpDescription)
            }
            return OttoError("provider.aws.api", "AWS refused to \(action): \(aws)", causeText: aws.httpDescription)
        case let http as HTTPError:
            return OttoError("provider.aws.unreachable",
                             "could not reach AWS for provider `\(providerName)` to \(action): \(http.message.isEmpty ? http.code : http.message)",
                             causeText: http.description)
        case let xml as XMLSyntaxError:
            return OttoError("provider.aws.response", "AWS's answer to \(action) could not be read: \(xml)")
        default:
            return error
        }
    }
}

/// Whether an error means the request may have been carried out although no answer came back (a timeout, a dropped
/// connection, a 5xx): a non-idempotent create must then look for what it made before trying again.
func isAmbiguous(_ error: any Error) -> Bool {
    if let http = error as? HTTPError { return http.code != "http.request" && http.code != "http.connect" }
    if let aws = error as? AWSServiceError { return aws.status >= 500 }
    return false
}
