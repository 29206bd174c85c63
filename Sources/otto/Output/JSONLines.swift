import Foundation
import OttoEngine

/// `--json` output: one compact JSON document per line, keys sorted.
enum JSONLines {
    static func line(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self) + "\n"
    }
}

/// The last line of `otto apply --json`: the run's outcome as the API shows it, with `"type": "summary"` so that a
/// reader of the event lines can tell it from them.
struct ApplySummaryLine: Encodable {
    let outcome: ApplySummaryDocument

    init(_ outcome: ApplySummaryDocument) { self.outcome = outcome }

    enum CodingKeys: String, CodingKey { case type }

    func encode(to encoder: any Encoder) throws {
        try outcome.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode("summary", forKey: .type)
    }
}
