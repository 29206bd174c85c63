import OttoCore

/// `PUT /site/walk/{site}?params=…`: walk settings as `KEY=VALUE` pairs separated by `;`, lists separated by `,`:
/// `every=10m;depth=2;max_pages=200;allow=cdn.example.com,img.example.com;start=http://demo.test/`.
/// Keys and values are those of a site's `walk:` in YAML and are checked by the same reader (`every` a duration,
/// `depth` ≥ 0, `max_pages` ≥ 1, `allow` host names, `start` a URL); omitted keys take the YAML defaults.
enum WalkParams {
    /// The walk settings `text` asks for, or 422 with the reader's diagnostics (located at
    /// `api:/site/walk/SITE?params:1:COLUMN`).
    static func parse(_ text: String, site: String, domain: String) throws(DesiredStateError) -> WalkSpec {
        let file = SourceLocation.apiPrefix + "/site/walk/\(site)?params"
        var entries: [YAMLNode.Entry] = []
        var column = 1
        for part in text.split(separator: ";", omittingEmptySubsequences: false) {
            defer { column += part.count + 1 }
            let at = SourceLocation(file: file, line: 1, column: column)
            if part.isEmpty { continue }
            guard let eq = part.firstIndex(of: "=") else {
                throw .invalid([Diagnostic(at: at, "expected KEY=VALUE in params, got \(Value.string(String(part)))")])
            }
            let key = String(part[..<eq]), raw = String(part[part.index(after: eq)...])
            let valueAt = SourceLocation(file: file, line: 1, column: column + key.count + 1)
            let value: YAMLNode
            if key == "allow" {
                value = YAMLNode(.sequence(raw.split(separator: ",").map { YAMLNode(.scalar(String($0), .plain), at: valueAt) }), at: valueAt)
            } else {
                // plain, so `3` is a number as in YAML; `start` stays text
                value = YAMLNode(.scalar(raw, key == "start" ? .doubleQuoted : .plain), at: valueAt)
            }
            if entries.contains(where: { $0.key.text == key }) {
                throw .invalid([Diagnostic(at: at, "`\(key)` is given twice in params")])
            }
            entries.append(YAMLNode.Entry(key: YAMLNode(.scalar(key, .plain), at: at), value: value))
        }
        let (spec, diagnostics) = Project.walkSpec(YAMLNode(.mapping(entries), at: SourceLocation(file: file, line: 1, column: 1)),
                                                   domain: domain)
        guard let spec else { throw .invalid(diagnostics) }
        return spec
    }
}

extension DesiredStateService {
    /// Walk settings from `?params=` (see `WalkParams`), checked like a site's `walk:`.
    public func walkSpec(params: String, site: String, domain: String) throws(DesiredStateError) -> WalkSpec {
        try WalkParams.parse(params, site: site, domain: domain)
    }
}
