import OttoCore
import OttoHTTP

/// `otto walk`'s table: one line per URL requested, then the broken links with the pages they were found on.
enum WalkRenderer {
    static func render(_ report: WalkReport, pins: [WalkSetup.Pin]) -> String {
        var out = ""
        var seen: Set<String> = []
        for pin in pins where seen.insert("\(pin.entry.host) \(pin.entry.addresses)").inserted {
            out += "Pinned \(pin.entry.host) → \(pin.entry.addresses.joined(separator: ", ")) (\(pin.source))\n"
        }
        if !out.isEmpty { out += "\n" }
        out += "STATUS     MS      SIZE  URL\n"
        out.reserveCapacity(out.utf8.count + report.pages.count * 96)
        for page in report.pages {
            // Appended piece by piece: a chain of `+` made a thousand-row table cost ~10 ms.
            let status = page.error.map { $0.code } ?? page.status.map(String.init) ?? "-"
            out += status
            out += spaces(max(1, 7 - status.count))
            pad(tenths(page.timeMs), 6, into: &out)
            out += "  "
            pad(size(page.size), 8, into: &out)
            out += "  "
            out += page.url
            if let final = page.finalURL {
                out += "  → \(final) (\(plural(page.redirects.count, "redirect")))"
            }
            if page.kind != .page {
                out += "  ["
                out += page.kind.rawValue
                out += "]"
            }
            out += "\n"
        }
        out += "\n"
        if report.broken.isEmpty {
            out += "No broken links.\n"
        } else {
            out += "BROKEN LINKS (\(report.broken.count))\n"
            for link in report.broken {
                out += "  \(link.url)\n      \(link.reason)"
                out += link.foundOn.isEmpty ? "; the start page\n" : "; found on: \(link.foundOn.joined(separator: ", "))\n"
            }
            out += "\n"
        }
        let seconds = report.seconds < 10 ? thousandths(report.seconds) : tenths(report.seconds)
        var summary = "Walked \(report.start): \(plural(report.pages.count, "URL")) in \(seconds) s "
            + "(depth \(report.depth); \(plural(report.requests, "request")) on \(plural(report.connections, "connection")))"
        if report.truncated { summary += "; stopped at max_pages (\(report.maxPages))" }
        summary += ", \(report.broken.count) broken"
        if let id = report.id { summary += "; recorded as walk \(id)" }
        return out + summary + ".\n"
    }

    private static func plural(_ n: Int, _ word: String) -> String { "\(n) \(word)\(n == 1 ? "" : "s")" }

    private static func pad(_ text: String, _ width: Int, into out: inout String) {
        if text.utf8.count < width { out += spaces(width - text.utf8.count) }
        out += text
    }

    private static let blanks = (0..<17).map { String(repeating: " ", count: $0) }

    private static func spaces(_ n: Int) -> String { n < blanks.count ? blanks[n] : String(repeating: " ", count: n) }

    /// `153`, `1.4K`, `2.0M`.
    private static func size(_ bytes: Int) -> String {
        if bytes < 1024 { return String(bytes) }
        if bytes < 1024 * 1024 { return tenths(Double(bytes) / 1024) + "K" }
        return tenths(Double(bytes) / 1024 / 1024) + "M"
    }

    /// Three decimals (`0.071`).
    private static func thousandths(_ value: Double) -> String {
        let scaled = Int((value * 1000).rounded())
        let fraction = String(scaled % 1000)
        return "\(scaled / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
    }

    /// One decimal (`12.3`). Not Foundation's `String(format:)`: its first call sets up locale data, about 10 ms,
    /// which was most of the time of printing a walk.
    private static func tenths(_ value: Double) -> String {
        let scaled = Int((value * 10).rounded())
        return "\(scaled / 10).\(scaled % 10)"
    }
}
