import Foundation
import OttoCore
@testable import OttoPlan
import Testing

/// Unified diffs as `diff -u` writes them, and what plans carry for changed texts and directories.
@Suite struct TextDiffTests {
    @Test func identicalTextsHaveNoDiff() {
        #expect(TextDiff.unified("a\nb\n", "a\nb\n", from: "x", to: "y") == nil)
        #expect(TextDiff.unified("", "", from: "x", to: "y") == nil)
    }

    @Test func oneChangedLineWithThreeLinesOfContext() {
        let old = (1...10).map { "line \($0)\n" }.joined()
        let new = old.replacingOccurrences(of: "line 5\n", with: "line five\n")
        #expect(TextDiff.unified(old, new, from: "before: /etc/x", to: "after: /etc/x") == """
            --- before: /etc/x
            +++ after: /etc/x
            @@ -2,7 +2,7 @@
             line 2
             line 3
             line 4
            -line 5
            +line five
             line 6
             line 7
             line 8

            """)
    }

    @Test func distantChangesMakeSeparateHunksAndCloseOnesShareOne() {
        let old = (1...30).map { "\($0)\n" }.joined()
        var lines = (1...30).map { "\($0)" }
        lines[1] = "two"       // line 2
        lines[24] = "twenty-five"  // line 25: far from line 2 → its own hunk
        lines[27] = "twenty-eight" // line 28: within 6 lines of 25 → same hunk
        let new = lines.map { $0 + "\n" }.joined()
        let diff = TextDiff.unified(old, new, from: "a", to: "b") ?? ""
        let headers = diff.split(separator: "\n").filter { $0.hasPrefix("@@") }
        #expect(headers == ["@@ -1,5 +1,5 @@", "@@ -22,9 +22,9 @@"], "\(diff)")
        #expect(diff.contains("-25\n+twenty-five\n 26\n 27\n-28\n+twenty-eight\n"))
    }

    @Test func additionsAtTheEndAndIntoAnEmptyFile() {
        #expect(TextDiff.unified("a\nb\n", "a\nb\nc\n", from: "a", to: "b") == "--- a\n+++ b\n@@ -1,2 +1,3 @@\n a\n b\n+c\n")
        #expect(TextDiff.unified("", "x\ny\n", from: "/dev/null", to: "b") == "--- /dev/null\n+++ b\n@@ -0,0 +1,2 @@\n+x\n+y\n")
        #expect(TextDiff.unified("x\n", "", from: "a", to: "b") == "--- a\n+++ b\n@@ -1 +0,0 @@\n-x\n")
    }

    @Test func aLastLineWithoutNewlineIsMarked() {
        #expect(TextDiff.unified("a\nb", "a\nb\n", from: "a", to: "b")
                == "--- a\n+++ b\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+b\n")
        #expect(TextDiff.unified("a\n", "a\nc", from: "a", to: "b")
                == "--- a\n+++ b\n@@ -1 +1,2 @@\n a\n+c\n\\ No newline at end of file\n")
    }

    @Test func largeTextsDiffQuicklyAndCorrectly() {
        // 20,000 lines with one change in the middle: the common head and tail are set aside.
        let old = (0..<20_000).map { "row \($0)\n" }.joined()
        let new = old.replacingOccurrences(of: "row 10000\n", with: "row ten thousand\n")
        let diff = TextDiff.unified(old, new, from: "a", to: "b") ?? ""
        #expect(diff.contains("@@ -9998,7 +9998,7 @@\n"), "\(diff.prefix(300))")
        // Two unrelated large texts: a whole replacement, still a correct diff.
        let a = (0..<3000).map { "a\($0)\n" }.joined(), b = (0..<3000).map { "b\($0)\n" }.joined()
        let all = TextDiff.unified(a, b, from: "a", to: "b") ?? ""
        #expect(all.hasPrefix("--- a\n+++ b\n@@ -1,3000 +1,3000 @@\n-a0\n"))
        #expect(all.split(separator: "\n").filter { $0.hasPrefix("+b") }.count == 3000)
    }
}

/// The planner attaches the diff of a changed text (or a directory's changed names) to its hash's change, and only
/// when the text is not sensitive for that resource.
@Suite struct PlanTextDetailTests {
    static let schema = KindSchema(kind: "file", attributes: [
        .required("path", .string, forceNew: true), .required("content", .string, ignoredInDiff: true, sensitiveWhen: "sensitive"),
        .optional("sensitive", .bool, ignoredInDiff: true),
        .computed("content_sha256", .string, ignoredInDiff: false, presentation: .digest(of: "content")),
    ])
    static let dirSchema = KindSchema(kind: "directory", attributes: [
        .required("path", .string), .computed("files", .map(.string), ignoredInDiff: false, presentation: .listing),
    ])

    /// Plans one resource; the provider-set attributes of `desired` (`content_sha256`, `files`) come from `derive`, as
    /// a provider's derive fills them in.
    func plan(_ desired: [String: Value], observed: [String: Value]?, kind: String = "file") throws -> Plan {
        let address = ResourceAddress(kind: kind, name: "s.x")
        let derived: Set<String> = ["content_sha256", "files"]
        let schemas = [SchemaKey(provider: "host", kind: "file"): Self.schema, SchemaKey(provider: "host", kind: "directory"): Self.dirSchema]
        let rec = ResourceRecord(address: address, provider: "host", providerID: "m:x", attributes: observed ?? [:], dependencies: [])
        return try Planner.plan(PlannerInput(
            desired: [Resource(address: address, provider: "host", attributes: desired.filter { !derived.contains($0.key) })],
            state: observed == nil ? [:] : [address: rec],
            observed: observed.map { [address: ObservedResource(providerID: "m:x", attributes: $0)] } ?? [:],
            schemas: schemas, options: PlanOptions(), stateLineage: "l", stateSerial: 1,
            derive: { r in
                var r = r
                for (k, v) in desired where derived.contains(k) { r.attributes[k] = v }
                return r
            }))
    }

    @Test func aChangedTextPlansAsItsDiff() throws {
        let p = try plan(["path": "/etc/motd", "content": "hello\nworld\n", "content_sha256": "new"],
                         observed: ["path": "/etc/motd", "content": "hello\nthere\n", "content_sha256": "old"])
        let change = try #require(p.changes.first?.changes.first { $0.name == "content_sha256" })
        #expect(!change.sensitive)
        #expect(change.detail == .diff("--- before: /etc/motd\n+++ after: /etc/motd\n@@ -1,2 +1,2 @@\n hello\n-there\n+world\n"))
        // The plan document carries it; a redacted plan keeps it (nothing is sensitive here).
        let doc = PlanDocument(p.redacted())
        #expect(doc.changes.first?.attributes.first { $0.name == "content_sha256" }?.diff?.contains("+world\n") == true)
    }

    @Test func aNewFileDiffsFromNothingAndAnUnreadTextSaysWhy() throws {
        let created = try plan(["path": "/etc/motd", "content": "hi\n", "content_sha256": "new"], observed: nil)
        #expect(created.changes.first?.changes.first { $0.name == "content_sha256" }?.detail
                == .diff("--- /dev/null\n+++ after: /etc/motd\n@@ -0,0 +1 @@\n+hi\n"))
        // Refresh read no text (binary or larger than 256 KiB): the hashes, with why.
        let binary = try plan(["path": "/etc/motd", "content": "hi\n", "content_sha256": "aaaaaaaaaaaaaaaa"],
                              observed: ["path": "/etc/motd", "content_sha256": "bbbbbbbbbbbbbbbb"])
        #expect(binary.changes.first?.changes.first { $0.name == "content_sha256" }?.detail
                == .unavailable("binary or too large, sha256 bbbbbbbbbbbb → aaaaaaaaaaaa"))
    }

    @Test func aSensitiveFileNeverShowsItsDiff() throws {
        let p = try plan(["path": "/etc/secret", "content": "token=new\n", "content_sha256": "new", "sensitive": true],
                         observed: ["path": "/etc/secret", "content": "token=old\n", "content_sha256": "old", "sensitive": true])
        let c = try #require(p.changes.first)
        #expect(c.sensitive == ["content", "content_sha256"])
        let change = try #require(c.changes.first { $0.name == "content_sha256" })
        #expect(change.sensitive && change.detail == nil)
        let shown = String(describing: PlanDocument(p.redacted())) + String(describing: p.redacted().changes)
        #expect(!shown.contains("token=new") && !shown.contains("token=old"))
        let doc = PlanDocument(p)
        #expect(doc.changes.first?.attributes.allSatisfy { $0.diff == nil && $0.before?.value != "old" } == true)
    }

    @Test func aDirectoryPlansItsChangedFileNames() throws {
        let p = try plan(["path": "/srv/www", "files": ["index.html": "h1 0644", "new.html": "h2 0644", "same.html": "h3 0644"]],
                         observed: ["path": "/srv/www", "files": ["index.html": "h0 0644", "old.html": "h4 0644", "same.html": "h3 0644"]],
                         kind: "directory")
        #expect(p.changes.first?.changes.first?.detail == .files(added: ["new.html"], removed: ["old.html"], changed: ["index.html"]))
        let doc = PlanDocument(p)
        #expect(doc.changes.first?.attributes.first?.files == .init(added: ["new.html"], removed: ["old.html"], changed: ["index.html"]))
    }
}
