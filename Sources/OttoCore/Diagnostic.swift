/// One problem found in the user's input, with where it was written.
public struct Diagnostic: Sendable, Hashable, Codable, CustomStringConvertible {
    /// How bad it is.
    public enum Severity: String, Sendable, Codable { case error, warning }

    /// Error or warning.
    public var severity: Severity
    /// Where the problem is; nil when it is not tied to a file (e.g. a missing directory).
    public var location: SourceLocation?
    /// What is wrong and, where possible, what to do about it.
    public var message: String

    /// Creates a diagnostic.
    public init(_ severity: Severity = .error, at location: SourceLocation?, _ message: String) {
        self.severity = severity
        self.location = location
        self.message = message
    }

    /// `file:line:col: error: message`, the shape compilers and editors understand.
    public var description: String {
        if let location { return "\(location): \(severity.rawValue): \(message)" }
        return "\(severity.rawValue): \(message)"
    }
}

/// All the diagnostics of one run, thrown together so the user sees every problem at once.
public struct DiagnosticsError: Error, Sendable, CustomStringConvertible {
    /// The problems, sorted by position.
    public var diagnostics: [Diagnostic]

    /// Creates the error; diagnostics are sorted by file, line and column.
    public init(_ diagnostics: [Diagnostic]) {
        // Diagnostics without a location first, then by file, line and column (numerically).
        self.diagnostics = diagnostics.sorted { a, b in
            switch (a.location, b.location) {
            case (nil, nil): return a.message < b.message
            case (nil, _): return true
            case (_, nil): return false
            case (let x?, let y?): return x == y ? a.message < b.message : x < y
            }
        }
    }

    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}

/// Collects diagnostics while a pass keeps going past the first problem.
public struct DiagnosticBag: Sendable {
    /// Everything reported so far, in the order reported.
    public private(set) var all: [Diagnostic] = []

    /// Creates an empty bag.
    public init() {}

    /// Records an error at a location.
    public mutating func error(_ location: SourceLocation?, _ message: String) {
        all.append(Diagnostic(.error, at: location, message))
    }

    /// Records a warning at a location.
    public mutating func warning(_ location: SourceLocation?, _ message: String) {
        all.append(Diagnostic(.warning, at: location, message))
    }

    /// Adds diagnostics from another pass.
    public mutating func append(contentsOf other: [Diagnostic]) { all.append(contentsOf: other) }

    /// True when at least one error (not just warnings) was recorded.
    public var hasErrors: Bool { all.contains { $0.severity == .error } }

    /// Throws every diagnostic at once when there is an error.
    public func throwIfErrors() throws {
        if hasErrors { throw DiagnosticsError(all) }
    }
}
