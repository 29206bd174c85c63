import Foundation
import Testing

/// The layering of DESIGN.md §3, checked on the sources: every `import` of one of the project's own modules in
/// `Sources/<Target>/**/*.swift` must be allowed by the map below, and each C module is imported by exactly one
/// adapter target, with `internal import`. SwiftPM makes every module a dependency reaches importable (OttoServer
/// reaches OttoConfig through OttoEngine), so only this test keeps a forbidden import from slipping in.
@Suite struct LayeringTests {
    /// What each target may import of ours (DESIGN.md §3, "arrows are the only imports allowed").
    ///
    /// OttoCore is the vocabulary every layer above the C adapters speaks (values, resources, diagnostics, walk
    /// reports, the desired-state and provider protocols), so OttoWalker and OttoServer may import it although the
    /// table lists only their upper arrows. OttoServer may import OttoPlan because the engine's answers it renders
    /// are plans. Providers and the server never import OttoConfig (§3's rules).
    static let allowed: [String: Set<String>] = [
        "OttoCore": [],
        "OttoConfig": ["OttoCore", "CYAML"],
        "OttoPlan": ["OttoCore"],
        "OttoState": ["OttoCore", "OttoPlan"],
        "OttoSSH": ["CLibSSH2"],
        "OttoHTTP": ["CCurl"],
        "OttoProviders": ["OttoCore", "OttoSSH", "OttoHTTP"],
        "OttoEngine": ["OttoCore", "OttoConfig", "OttoPlan", "OttoState"],
        "OttoWalker": ["OttoCore", "OttoHTTP"],
        "OttoServer": ["OttoCore", "OttoPlan", "OttoEngine", "OttoState", "OttoWalker"],
        "otto": ["OttoCore", "OttoConfig", "OttoPlan", "OttoState", "OttoSSH", "OttoHTTP", "OttoProviders", "OttoEngine",
                 "OttoWalker", "OttoServer"],
    ]

    /// The C modules and the one target that wraps each.
    static let cAdapters = ["CYAML": "OttoConfig", "CCurl": "OttoHTTP", "CLibSSH2": "OttoSSH"]

    /// `<repository>/Sources`, found from this file's path.
    static var sources: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources")
    }

    /// One `import` line of a source file.
    struct Import: CustomStringConvertible {
        var target: String
        var file: String
        var line: Int
        var module: String
        var text: String
        var description: String { "\(file):\(line): \(text)" }
    }

    /// The module an import line names (`import X`, `@testable import X`, `internal import X`, `import struct X.Y`),
    /// nil for any other line.
    static func importedModule(_ line: Substring) -> String? {
        var words = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        while let first = words.first, first.hasPrefix("@") || ["public", "package", "internal", "fileprivate", "private"].contains(first) {
            words.removeFirst()
        }
        guard words.count >= 2, words[0] == "import" else { return nil }
        let kinds: Set<String> = ["struct", "class", "enum", "protocol", "typealias", "func", "var", "let"]
        let path = kinds.contains(words[1]) && words.count >= 3 ? words[2] : words[1]
        return String(path.split(separator: ".").first ?? "")
    }

    /// Every import of every Swift file under `Sources/<target>`.
    static func imports() throws -> [Import] {
        let fm = FileManager.default
        var out: [Import] = []
        for target in try fm.contentsOfDirectory(atPath: sources.path).sorted() {
            let dir = sources.appendingPathComponent(target)
            guard let files = fm.enumerator(atPath: dir.path) else { continue }
            for case let relative as String in files where relative.hasSuffix(".swift") {
                let path = dir.appendingPathComponent(relative).path
                let text = try String(contentsOfFile: path, encoding: .utf8)
                for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                    let trimmed = line.drop { $0 == " " || $0 == "\t" }
                    guard let module = importedModule(trimmed) else { continue }
                    out.append(Import(target: target, file: "Sources/\(target)/\(relative)", line: index + 1, module: module,
                                      text: String(trimmed)))
                }
            }
        }
        return out
    }

    @Test func theParserReadsEveryFormOfImport() {
        #expect(Self.importedModule("import OttoCore") == "OttoCore")
        #expect(Self.importedModule("internal import CYAML") == "CYAML")
        #expect(Self.importedModule("@testable import OttoProviders") == "OttoProviders")
        #expect(Self.importedModule("@_implementationOnly import CCurl") == "CCurl")
        #expect(Self.importedModule("import struct OttoConfig.Project") == "OttoConfig")
        #expect(Self.importedModule("public import OttoPlan") == "OttoPlan")
        #expect(Self.importedModule("// import OttoConfig") == nil)
        #expect(Self.importedModule("let x = importer") == nil)
    }

    @Test func everyTargetImportsOnlyWhatTheLayeringAllows() throws {
        let all = try Self.imports()
        let targets = Set(all.map(\.target))
        // Every target with Swift sources is in the map, so a new target cannot skip the check.
        #expect(targets.subtracting(Self.allowed.keys).isEmpty, "targets missing from LayeringTests.allowed: \(targets.subtracting(Self.allowed.keys).sorted())")
        #expect(targets.count >= 10, "found only \(targets.sorted()) under \(Self.sources.path)")
        let ours = Set(Self.allowed.keys).union(Self.cAdapters.keys).union(["OttoTestSupport", "OttoFakeDigitalOcean"])
        let violations = all.filter { ours.contains($0.module) && !(Self.allowed[$0.target] ?? []).contains($0.module) }
        #expect(violations.isEmpty, "imports that DESIGN.md §3 does not allow:\n\(violations.map(\.description).joined(separator: "\n"))")
    }

    @Test func eachCModuleHasOneAdapterThatImportsItInternally() throws {
        let all = try Self.imports()
        for (module, adapter) in Self.cAdapters {
            let uses = all.filter { $0.module == module }
            #expect(!uses.isEmpty, "\(module) is not imported by \(adapter)")
            for use in uses {
                #expect(use.target == adapter, "\(use): only \(adapter) may import \(module)")
                #expect(use.text.hasPrefix("internal import") || use.text.hasPrefix("@_implementationOnly import"),
                        "\(use): a C module is imported with `internal import`")
            }
        }
    }

    @Test func providersAndTheServerNeverImportTheConfiguration() throws {
        let offending = try Self.imports().filter { ["OttoProviders", "OttoServer"].contains($0.target) && $0.module == "OttoConfig" }
        #expect(offending.isEmpty, "\(offending.map(\.description).joined(separator: "\n"))")
    }
}
