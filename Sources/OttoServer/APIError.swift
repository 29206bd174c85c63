import HTTPTypes
import OttoCore
import OttoPlan
import OttoState

/// An error answer of the API: an HTTP status and the JSON body `{"error": {"code", "message", "details"?}}`.
///
/// Codes are stable and dotted like `OttoError`'s (`auth.missing`, `body.malformed`, `item.yaml_owned`, ...); the
/// message says what was wrong and what to do; `details` lists every configuration diagnostic
/// (`api:/inv/web1:1:20: error: ...`) when there were several. Secrets never appear in either.
public struct APIError: Error, Sendable, CustomStringConvertible {
    /// The HTTP status (always 4xx for bad requests).
    public var status: HTTPResponse.Status
    /// Stable code.
    public var code: String
    /// What happened.
    public var message: String
    /// Diagnostics, one per line, when there are any.
    public var details: [String]
    /// Extra response headers (`WWW-Authenticate`, `Allow`, `Location`).
    public var headers: HTTPFields

    /// Creates an error.
    public init(_ status: HTTPResponse.Status, _ code: String, _ message: String, details: [String] = [],
                headers: HTTPFields = [:]) {
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers
    }

    public var description: String { "\(status.code) \(code): \(message)" }

    /// The response body.
    public var json: JSON {
        var error: [(String, JSON)] = [("code", .string(code)), ("message", .string(message))]
        if !details.isEmpty { error.append(("details", .strings(details))) }
        return .object([("error", .object(error))])
    }

    /// 400 with `code`.
    static func badRequest(_ code: String, _ message: String) -> APIError { APIError(.badRequest, code, message) }

    /// 404 `not_found`.
    static func notFound(_ message: String) -> APIError { APIError(.notFound, "not_found", message) }

    /// 422 `config.invalid` with every error diagnostic.
    static func invalid(_ diagnostics: [Diagnostic]) -> APIError {
        let errors = diagnostics.filter { $0.severity == .error }
        let lines = errors.map(\.description)
        return APIError(.unprocessableContent, "config.invalid",
                        lines.count == 1 ? lines[0] : "\(lines.count) problems: " + lines.joined(separator: "; "),
                        details: lines)
    }

    /// 409 `item.yaml_owned`: what YAML defines is read-only over the API.
    static func yamlOwned(_ what: String, at location: SourceLocation) -> APIError {
        APIError(.conflict, "item.yaml_owned",
                 "\(what) is defined in YAML at \(location) and is read-only over the API; change it there")
    }

    /// The answer for an error thrown by a service the CLI provides (runs, walks, the state store).
    static func from(_ error: any Error) -> APIError {
        switch error {
        case let e as APIError:
            return e
        case let e as DiagnosticsError:
            return invalid(e.diagnostics)
        case let e as PlanError:
            return APIError(.unprocessableContent, "plan.invalid", e.diagnostics.map(\.description).joined(separator: "; "),
                            details: e.diagnostics.map(\.description))
        case let e as StateLockedError:
            return APIError(.conflict, e.code, e.description)
        case let e as DeploymentTransitionError:
            return APIError(.notAcceptable, e.code, e.description)
        case let e as OttoError:
            if e.code == "state.locked" || e.code == "deploy.conflict" { return APIError(.conflict, e.code, e.message) }
            if e.code == "deploy.not_found" { return APIError(.notFound, e.code, e.message) }
            if e.code.hasPrefix("config.") || e.code.hasPrefix("cli.") || e.code.hasPrefix("plan.")
                || e.code == "provider.config" || e.code == "provider.unsupported" {
                return APIError(.unprocessableContent, e.code, e.message)
            }
            // Anything else failed on the way to a provider or the state: not the client's fault, but never a crash.
            return APIError(.badGateway, e.code, e.description)
        default:
            return APIError(.badGateway, "internal", "the request could not be completed: \(type(of: error))")
        }
    }
}
