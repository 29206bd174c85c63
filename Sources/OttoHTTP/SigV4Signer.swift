import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Signs requests with AWS Signature Version 4 (header form) for one service and region.
///
/// What it does, per AWS's "Create a signed AWS API request" and the aws-sig-v4-test-suite:
/// - sets `Host` (from the URL; the port only when it is not the scheme's default) and `X-Amz-Date`,
///   `X-Amz-Security-Token` for temporary credentials, and `X-Amz-Content-SHA256` when `signsPayloadHash` is set;
/// - canonical request: the method; the URI path with every segment URI-encoded (the wire form encoded once more,
///   as the AWS SDKs do for every service but S3); the query's parameters decoded, RFC 3986-encoded and sorted;
///   every header except `Authorization`, `User-Agent`, `Expect` and `Content-Length`, names lower-cased and sorted,
///   values trimmed with inner runs of spaces collapsed; the signed header list; the SHA-256 of the body;
/// - the signature: HMAC-SHA256 over the string to sign with the key derived from the secret, date, region,
///   service and `aws4_request`, sent in `Authorization`.
///
/// The secret never leaves this value except as HMAC input.
public struct SigV4Signer: HTTPRequestSigner {
    /// The credentials requests are signed with.
    public let credentials: AWSCredentials
    /// The region of the credential scope (`us-east-1` for global services such as Route53).
    public let region: String
    /// The service of the credential scope (`ec2`, `route53`).
    public let service: String
    /// Also send and sign `X-Amz-Content-SHA256` (S3 requires it; others accept it).
    public let signsPayloadHash: Bool

    /// Headers never signed: they are rewritten by proxies or set by libcurl itself.
    static let unsignedHeaders: Set<String> = ["authorization", "user-agent", "expect", "content-length", "x-amzn-trace-id"]
    /// Headers the signer sets itself; any copies already on the request are replaced.
    static let ownHeaders: Set<String> = ["authorization", "host", "x-amz-date", "x-amz-security-token", "x-amz-content-sha256"]

    /// Creates a signer for `service` in `region`.
    public init(credentials: AWSCredentials, region: String, service: String, signsPayloadHash: Bool = false) {
        self.credentials = credentials
        self.region = region
        self.service = service
        self.signsPayloadHash = signsPayloadHash
    }

    /// Returns `request` with `Host`, `X-Amz-Date`, the token and payload headers when needed, and `Authorization`.
    public func sign(_ request: HTTPRequest, at date: Date) -> HTTPRequest {
        let parts = signature(for: request, at: date)
        var signed = request
        signed.headers = parts.headers
        signed.headers["Authorization"] = parts.authorization
        return signed
    }

    /// Every intermediate value of a signature (for tests and debugging; none of them contains the secret).
    public struct Parts: Sendable {
        /// The headers to send, `Host` and the `X-Amz-*` ones included, `Authorization` not.
        public var headers: [String: String]
        /// The canonical request.
        public var canonicalRequest: String
        /// The string to sign.
        public var stringToSign: String
        /// `host;x-amz-date;…`
        public var signedHeaders: String
        /// The hex signature.
        public var signature: String
        /// The `Authorization` header value.
        public var authorization: String
    }

    /// Computes the signature of `request` sent at `date`.
    public func signature(for request: HTTPRequest, at date: Date) -> Parts {
        let url = SigV4URL(request.url)
        let (amzDate, day) = Self.timestamps(date)
        let payloadHash = Self.hex(SHA256.hash(data: request.body))

        var headers: [String: String] = [:]
        for (name, value) in request.headers where !Self.ownHeaders.contains(name.lowercased()) { headers[name] = value }
        headers["Host"] = url.host
        headers["X-Amz-Date"] = amzDate
        if let token = credentials.sessionToken { headers["X-Amz-Security-Token"] = token }
        if signsPayloadHash { headers["X-Amz-Content-SHA256"] = payloadHash }

        // Names lower-cased; two spellings of one name are one header with the values joined by commas.
        var canonical: [String: [String]] = [:]
        for (name, value) in headers {
            let lower = name.lowercased()
            guard !Self.unsignedHeaders.contains(lower) else { continue }
            canonical[lower, default: []].append(Self.trimAll(value))
        }
        let names = canonical.keys.sorted()
        let signedHeaders = names.joined(separator: ";")
        let headerBlock = names.map { "\($0):\(canonical[$0]!.joined(separator: ","))\n" }.joined()

        let canonicalRequest = [request.method.rawValue, url.canonicalPath, url.canonicalQuery, headerBlock, signedHeaders, payloadHash]
            .joined(separator: "\n")
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, Self.hex(SHA256.hash(data: Array(canonicalRequest.utf8)))]
            .joined(separator: "\n")

        var key = SymmetricKey(data: Array("AWS4\(credentials.secretAccessKey)".utf8))
        for part in [day, region, service, "aws4_request"] {
            key = SymmetricKey(data: Array(HMAC<SHA256>.authenticationCode(for: Array(part.utf8), using: key)))
        }
        let signature = Self.hex(HMAC<SHA256>.authenticationCode(for: Array(stringToSign.utf8), using: key))
        let authorization = "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyID)/\(scope), SignedHeaders=\(signedHeaders), Signature=\(signature)"
        return Parts(headers: headers, canonicalRequest: canonicalRequest, stringToSign: stringToSign, signedHeaders: signedHeaders,
                     signature: signature, authorization: authorization)
    }

    /// `(YYYYMMDDTHHMMSSZ, YYYYMMDD)` in UTC.
    static func timestamps(_ date: Date) -> (String, String) {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        let day = pad(parts.tm_year + 1900, 4) + pad(parts.tm_mon + 1, 2) + pad(parts.tm_mday, 2)
        return (day + "T" + pad(parts.tm_hour, 2) + pad(parts.tm_min, 2) + pad(parts.tm_sec, 2) + "Z", day)
    }

    /// Trims a header value and collapses every inner run of spaces and tabs into one space.
    static func trimAll(_ value: String) -> String {
        value.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
    }

    /// RFC 3986 encoding as SigV4 wants it: everything but `A-Z a-z 0-9 - . _ ~` as `%XX` (upper-case hex),
    /// and `/` kept when `keepSlash` is set.
    public static func uriEncode(_ text: String, keepSlash: Bool = false) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case 0x41...0x5A, 0x61...0x7A, 0x30...0x39, 0x2D, 0x2E, 0x5F, 0x7E:
                out.unicodeScalars.append(Unicode.Scalar(byte))
            case 0x2F where keepSlash:
                out += "/"
            default:
                out += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return out
    }

    static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        digest.map { String($0, radix: 16).leftPadded(to: 2) }.joined()
    }
}

/// The parts of a request URL that SigV4 signs.
struct SigV4URL {
    /// `host` or `host:port` (the port only when it is not the scheme's default).
    var host: String
    /// The path as sent (still percent-encoded), `/` when empty.
    var path: String
    /// The query as sent, without `?`.
    var query: String

    init(_ url: String) {
        var rest = Substring(url)
        var scheme = "https"
        if let separator = rest.range(of: "://") {
            scheme = rest[..<separator.lowerBound].lowercased()
            rest = rest[separator.upperBound...]
        }
        if let hash = rest.firstIndex(of: "#") { rest = rest[..<hash] }
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        var authority = rest[..<authorityEnd]
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        rest = rest[authorityEnd...]
        var hostPart = authority.lowercased()
        if let colon = hostPart.lastIndex(of: ":"), !hostPart.hasSuffix("]") {
            let port = hostPart[hostPart.index(after: colon)...]
            if (scheme == "https" && port == "443") || (scheme == "http" && port == "80") || port.isEmpty {
                hostPart = String(hostPart[..<colon])
            }
        }
        host = hostPart
        if let question = rest.firstIndex(of: "?") {
            path = String(rest[..<question])
            query = String(rest[rest.index(after: question)...])
        } else {
            path = String(rest)
            query = ""
        }
        if path.isEmpty { path = "/" }
    }

    /// Every segment of the path as sent, URI-encoded (so `%` becomes `%25`: AWS's double encoding).
    var canonicalPath: String { SigV4Signer.uriEncode(path, keepSlash: true) }

    /// Parameters decoded, re-encoded per RFC 3986, sorted by name then value, joined with `&`.
    var canonicalQuery: String {
        guard !query.isEmpty else { return "" }
        let pairs: [(String, String)] = query.split(separator: "&", omittingEmptySubsequences: true).map { item in
            let name: Substring
            let value: Substring
            if let equals = item.firstIndex(of: "=") {
                name = item[..<equals]
                value = item[item.index(after: equals)...]
            } else {
                name = item
                value = ""
            }
            return (SigV4Signer.uriEncode(Self.percentDecode(name)), SigV4Signer.uriEncode(Self.percentDecode(value)))
        }
        return pairs.sorted { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
    }

    /// Decodes `%XX` escapes (a `+` stays a `+`); malformed escapes are kept as written.
    static func percentDecode(_ text: Substring) -> String {
        guard text.contains("%") else { return String(text) }
        var bytes: [UInt8] = []
        let utf8 = Array(text.utf8)
        var index = 0
        while index < utf8.count {
            if utf8[index] == 0x25, index + 2 < utf8.count,
               let value = UInt8(String(decoding: utf8[(index + 1)...(index + 2)], as: UTF8.self), radix: 16) {
                bytes.append(value)
                index += 3
            } else {
                bytes.append(utf8[index])
                index += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension String {
    /// The string with zeros in front up to `width` characters.
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
