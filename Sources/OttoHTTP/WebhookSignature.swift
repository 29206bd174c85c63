import Crypto
import Foundation

/// The signature of a webhook body: `X-Otto-Signature: t=UNIX_SECONDS,v1=HEX`, where HEX is the HMAC-SHA256, keyed with
/// the webhook's secret, of `UNIX_SECONDS` + `.` + the body's bytes (as Stripe signs its webhooks). A receiver recomputes
/// it, compares in constant time, and refuses a timestamp too far from its clock (a replay).
public enum WebhookSignature {
    /// The header's name.
    public static let header = "X-Otto-Signature"

    /// The header's value for `body` sent at `timestamp`.
    public static func value(secret: String, timestamp: Int, body: [UInt8]) -> String {
        var message = Array("\(timestamp).".utf8)
        message += body
        let mac = HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: Array(secret.utf8)))
        return "t=\(timestamp),v1=" + mac.map { String(format: "%02x", $0) }.joined()
    }
}
