import Foundation
import Logging
import Synchronization

/// A swift-log handler writing one line per message to standard error: `text` for people, or `json` (one object per
/// line, `@timestamp`, `level`, `logger`, `message` and the metadata as fields) for an ELK stack or `jq`.
public struct LineLogHandler: LogHandler {
    /// The two line formats.
    public enum Format: String, Sendable, CaseIterable {
        /// `2026-11-29T18:30:00.123Z info otto.drift: scheduled run: ... outcome=ok`
        case text
        /// `{"@timestamp":"2026-11-29T18:30:00.123Z","level":"info","logger":"otto.drift","message":"...","outcome":"ok"}`
        case json
    }

    /// The logger's label.
    public let label: String
    /// The line format.
    public let format: Format
    /// Minimum level written.
    public var logLevel: Logger.Level
    /// Metadata added to every message of this logger.
    public var metadata: Logger.Metadata = [:]
    private let write: @Sendable (String) -> Void

    /// A handler for `label` writing `format` lines with `write` (default: standard error, one `write(2)` per line).
    public init(label: String, format: Format, level: Logger.Level = .info,
                write: @escaping @Sendable (String) -> Void = LineLogHandler.standardError) {
        self.label = label
        self.format = format
        self.logLevel = level
        self.write = write
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var all = metadata
        if let extra = event.metadata { all.merge(extra) { _, new in new } }
        write(Self.line(format: format, date: Date(), level: event.level, label: label, message: "\(event.message)", metadata: all))
    }

    /// One formatted line, with its newline.
    public static func line(format: Format, date: Date, level: Logger.Level, label: String, message: String,
                            metadata: Logger.Metadata) -> String {
        let time = timestamp(date)
        switch format {
        case .text:
            let fields = metadata.keys.sorted().map { "\($0)=\(flatten(metadata[$0]!))" }.joined(separator: " ")
            return "\(time) \(level) \(label): \(message)\(fields.isEmpty ? "" : " " + fields)\n"
        case .json:
            var object: [String: Any] = [:]
            for (key, value) in metadata { object[key] = json(value) }
            object["@timestamp"] = time
            object["level"] = level.rawValue
            object["logger"] = label
            object["message"] = message
            let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
            return String(decoding: data, as: UTF8.self) + "\n"
        }
    }

    /// Writes `line` to standard error in one call, so lines of concurrent loggers never interleave.
    public static let standardError: @Sendable (String) -> Void = { line in
        var bytes = Array(line.utf8)
        bytes.withUnsafeMutableBytes { buffer in
            var offset = 0
            while offset < buffer.count {
                let n = Foundation.write(2, buffer.baseAddress! + offset, buffer.count - offset)
                if n <= 0 { return }
                offset += n
            }
        }
    }

    private static func timestamp(_ date: Date) -> String {
        let millis = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        var seconds = time_t(millis / 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1, Int(parts.tm_mday),
                      Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), Int(millis % 1000))
    }

    private static func flatten(_ value: Logger.MetadataValue) -> String {
        switch value {
        case .string(let s): return s.contains(" ") || s.contains("\n") ? "\"\(s.replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\n", with: "\\n"))\"" : s
        case .stringConvertible(let c): return flatten(.string(c.description))
        case .array(let a): return "[" + a.map(flatten).joined(separator: ",") + "]"
        case .dictionary(let d): return "{" + d.keys.sorted().map { "\($0)=\(flatten(d[$0]!))" }.joined(separator: ",") + "}"
        }
    }

    private static func json(_ value: Logger.MetadataValue) -> Any {
        switch value {
        case .string(let s): return s
        case .stringConvertible(let c): return c.description
        case .array(let a): return a.map(json)
        case .dictionary(let d): return d.mapValues(json)
        }
    }
}
