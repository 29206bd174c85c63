import Foundation

extension CurlMulti {
    /// Settings shared by every transfer of one `CurlMulti`.
    public struct Configuration: Sendable, Hashable {
        /// Most connections open at once, all hosts together (`CURLMOPT_MAX_TOTAL_CONNECTIONS`); transfers beyond it
        /// wait inside libcurl for a free connection.
        public var maxTotalConnections: Int
        /// Most connections to one host and port at once (`CURLMOPT_MAX_HOST_CONNECTIONS`). With HTTP/1.1 and no
        /// pipelining that is also the most transfers to one host at once.
        public var maxHostConnections: Int
        /// Longest wait for a TCP connection (DNS included).
        public var connectTimeout: Duration
        /// Longest time one transfer may take in all (a request's own `timeout` overrides it).
        public var timeout: Duration
        /// Hosts pinned to addresses without DNS (curl's `--resolve`).
        public var resolve: [ResolveEntry]
        /// The `User-Agent` header.
        public var userAgent: String

        /// Creates settings (defaults: 64 connections in all, 8 per host, 5 s connect, 30 s per transfer).
        public init(maxTotalConnections: Int = 64, maxHostConnections: Int = 8, connectTimeout: Duration = .seconds(5),
                    timeout: Duration = .seconds(30), resolve: [ResolveEntry] = [], userAgent: String = "otto") {
            self.maxTotalConnections = max(1, maxTotalConnections)
            self.maxHostConnections = max(1, maxHostConnections)
            self.connectTimeout = connectTimeout
            self.timeout = timeout
            self.resolve = resolve
            self.userAgent = userAgent
        }
    }

    /// What to do with a response body.
    public enum BodyHandling: Sendable, Hashable {
        /// Keep up to `max` bytes; a longer body is cut there (the transfer stops, `Response.bodyTruncated`).
        case keep(max: Int)
        /// Keep up to `max` bytes when the `Content-Type` starts with one of `contentTypes` (lower case, e.g.
        /// `text/html`); otherwise stop the transfer at the first body byte (the status and headers are kept, the
        /// connection is closed).
        case keepIf(contentTypes: [String], max: Int)
        /// Read the body to its end but keep none of it (its size is counted and the connection stays reusable).
        case drain
        /// Stop at the first body byte: only the status and headers are wanted (a GET standing in for a HEAD).
        case discard
    }

    /// One request. Redirects are never followed by libcurl: a 3xx comes back as it is, with `Response.location`
    /// resolved against the request URL, so the caller can record and follow each hop.
    public struct Request: Sendable, Hashable {
        /// `GET` or `HEAD` (other methods are sent as given, without a body).
        public var method: HTTPMethod
        /// The absolute `http` or `https` URL.
        public var url: String
        /// Extra request headers.
        public var headers: [String: String]
        /// Total time allowed for this transfer; nil uses the configuration's.
        public var timeout: Duration?
        /// What to do with the body.
        public var body: BodyHandling

        /// Creates a request (default: GET, keeping up to 8 MiB of body).
        public init(method: HTTPMethod = .get, url: String, headers: [String: String] = [:], timeout: Duration? = nil,
                    body: BodyHandling = .keep(max: 8 << 20)) {
            self.method = method
            self.url = url
            self.headers = headers
            self.timeout = timeout
            self.body = body
        }
    }

    /// A response (any status: 3xx, 4xx and 5xx are responses, not failures).
    public struct Response: Sendable {
        /// The status code.
        public var status: Int
        /// Response headers, names lower-cased; repeated headers joined with ", ".
        public var headers: [String: String]
        /// The body kept (see `BodyHandling`).
        public var body: [UInt8]
        /// The body's size: the bytes received, or `Content-Length` when the body was not (fully) read and the
        /// server said how long it is.
        public var size: Int
        /// True when the body was not read to its end (discarded, not the wanted type, or longer than the limit).
        public var bodyTruncated: Bool
        /// The `Content-Type` header, when there was one.
        public var contentType: String?
        /// For a redirect, the `Location` resolved against the request URL.
        public var location: String?
        /// Time from the start of the transfer to its end (libcurl's total time).
        public var time: Duration
        /// The address connected to.
        public var remoteAddress: String?
        /// New connections this transfer opened (0 when it reused a kept-alive one).
        public var newConnections: Int
    }

    /// Why a transfer produced no response.
    public struct Failure: Error, Sendable, Hashable, CustomStringConvertible {
        /// What kind of failure.
        public enum Kind: String, Sendable, Hashable, Codable {
            /// The host name did not resolve.
            case dns
            /// The server refused the connection (nothing listens on that port).
            case refused
            /// The connection could not be made for another reason (unreachable, connect timeout).
            case connect
            /// The transfer took longer than its timeout.
            case timeout
            /// The TLS handshake or certificate check failed.
            case tls
            /// The connection broke or the server answered with something that is not HTTP.
            case transport
            /// The URL is malformed or its scheme is not http/https.
            case invalidURL = "invalid-url"
            /// The transfer was cancelled (task cancellation or shutdown).
            case cancelled
        }

        /// What kind of failure.
        public var kind: Kind
        /// libcurl's description, e.g. `Could not resolve host: nope.test`.
        public var message: String

        /// Creates a failure.
        public init(kind: Kind, message: String) {
            self.kind = kind
            self.message = message
        }

        public var description: String { "\(kind.rawValue): \(message)" }
    }

    /// Names a transfer begun with `start`, to cancel it.
    public struct TransferID: Sendable, Hashable {
        let value: UInt64
    }

    /// Counters over the life of one `CurlMulti`.
    public struct Statistics: Sendable, Hashable {
        /// Transfers finished (responses and failures).
        public var transfers: Int
        /// Connections opened; `transfers - connections` were served on kept-alive ones.
        public var connections: Int
    }
}
