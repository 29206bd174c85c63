import Foundation
import OttoCore
import OttoHTTP

/// AWS answered with an error document: its `<Code>` and `<Message>`, and the HTTP status.
struct AWSServiceError: Error, Sendable, CustomStringConvertible {
    /// The HTTP status.
    var status: Int
    /// AWS's error code (`InvalidAMIID.Malformed`, `NoSuchHostedZone`), or `HTTP <status>` when the body had none.
    var code: String
    /// AWS's message (may be empty).
    var message: String
    /// The HTTP error it came from (method, URL without query, attempts), for `OttoError.cause`.
    var httpDescription: String

    /// `CODE: MESSAGE`.
    var description: String { message.isEmpty ? code : "\(code): \(message)" }

    /// Reads code and message from an `HTTPError` whose message is `HTTPError.serverMessage`'s `CODE: MESSAGE`.
    init(_ error: HTTPError) {
        status = error.status ?? 0
        httpDescription = error.description
        let text = error.message
        if let colon = text.range(of: ": "), !text[..<colon.lowerBound].contains(" "), !text[..<colon.lowerBound].isEmpty {
            code = String(text[..<colon.lowerBound])
            message = String(text[colon.upperBound...])
        } else if !text.isEmpty, !text.contains(" "), !text.hasPrefix("<") {
            code = text
            message = ""
        } else {
            code = "HTTP \(status)"
            message = text
        }
    }

    init(status: Int, code: String, message: String, httpDescription: String) {
        self.status = status
        self.code = code
        self.message = message
        self.httpDescription = httpDescription
    }

    /// Codes AWS uses when the credentials or the signature are not accepted.
    static let authCodes: Set<String> = [
        "AuthFailure", "UnauthorizedOperation", "InvalidClientTokenId", "SignatureDoesNotMatch", "AccessDenied",
        "AccessDeniedException", "IncompleteSignature", "MissingAuthenticationToken", "ExpiredToken", "RequestExpired",
        "InvalidSignatureException", "UnrecognizedClientException", "OptInRequired",
    ]

    /// Whether AWS refused the credentials (or the signature made with them).
    var isAuthFailure: Bool { Self.authCodes.contains(code) || status == 401 || status == 403 }

    /// Whether AWS asks to slow down (Route53 answers 400 `Throttling`; EC2's 503 `RequestLimitExceeded` is retried
    /// by the HTTP client already).
    var isThrottling: Bool {
        ["Throttling", "ThrottlingException", "RequestLimitExceeded", "PriorRequestNotComplete"].contains(code)
    }
}
