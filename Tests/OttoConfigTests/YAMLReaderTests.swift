import Foundation
import OttoTestSupport
import Testing
@testable import OttoConfig
import OttoCore

/// Parses `text` and returns the diagnostics it throws, rendered as `file:line:col: error: message`.
func yamlErrors(_ text: String, limits: YAMLLimits = .default) -> [String] {
    do {
        _ = try YAMLReader.parse(text, displayPath: "t.yml", limits: limits)
        return []
    } catch {
        return error.diagnostics.map(\.description)
    }
}

@Suite struct YAMLReaderTests {
    @Test func positionsAreOneBased() throws {
        let docs = try YAMLReader.parse("a: 1\nb:\n  - x\n  - \"y\"\n", displayPath: "t.yml")
        #expect(docs.count == 1)
        let root = docs[0]
        #expect(root.location.description == "t.yml:1:1")
        let b = try #require(root["b"])
        #expect(b.location.description == "t.yml:3:3")
        #expect(b.items?[1].location.description == "t.yml:4:5")
        #expect(root.entries?[1].key.location.description == "t.yml:2:1")
    }

    @Test func scalarTypesFollowStyle() throws {
        let root = try YAMLReader.parse("""
            i: 42
            neg: -7
            hex: 0x1f
            f: 1.5
            t: true
            n: null
            tilde: ~
            empty:
            qi: "42"
            qt: 'true'
            s: hello
            v: 1.2.3
            tagged: !!str 12
            """, displayPath: "t.yml")[0]
        #expect(root["i"]?.scalar == .int(42))
        #expect(root["neg"]?.scalar == .int(-7))
        #expect(root["hex"]?.scalar == .int(31))
        #expect(root["f"]?.scalar == .double(1.5))
        #expect(root["t"]?.scalar == .bool(true))
        #expect(root["n"]?.scalar == .null)
        #expect(root["tilde"]?.scalar == .null)
        #expect(root["empty"]?.scalar == .null)
        #expect(root["qi"]?.scalar == .string("42"))
        #expect(root["qt"]?.scalar == .string("true"))
        #expect(root["s"]?.scalar == .string("hello"))
        #expect(root["v"]?.scalar == .string("1.2.3"))
        #expect(root["tagged"]?.scalar == .string("12"))
    }

    @Test func anchorsAndAliasesExpand() throws {
        let root = try YAMLReader.parse("base: &b { x: 1, y: [a, b] }\ncopy: *b\n", displayPath: "t.yml")[0]
        #expect(root["copy"]?.value == root["base"]?.value)
        #expect(root["copy"]?.location.description == "t.yml:2:7")
    }

    @Test func mergeKeysExplicitKeysWin() throws {
        let root = try YAMLReader.parse("""
            defaults: &d { count: 1, size: small, image: web }
            other: &o { size: large, region: nyc1 }
            web:
              <<: [*d, *o]
              count: 3
            one:
              count: 5
              <<: *d
            """, displayPath: "t.yml")[0]
        let web = try #require(root["web"])
        #expect(web["count"]?.scalar == .int(3))
        #expect(web["size"]?.scalar == .string("small"))   // the earlier merge source wins
        #expect(web["region"]?.scalar == .string("nyc1"))
        #expect(web["image"]?.scalar == .string("web"))
        #expect(web.entries?.count == 4)
        #expect(root["one"]?["count"]?.scalar == .int(5))
        #expect(root["one"]?.entries?.count == 3)
    }

    @Test func mergeOfAScalarIsAnError() {
        #expect(yamlErrors("a:\n  <<: 3\n") == ["t.yml:2:7: error: merge key `<<` takes a mapping or a sequence of mappings"])
    }

    @Test func duplicateKeysNameTheFirst() {
        #expect(yamlErrors("site: a\ndomain: x\nsite: b\n")
            == ["t.yml:3:1: error: duplicate key `site` (first defined at t.yml:1:1)"])
        // every duplicate in the file is reported at once
        #expect(yamlErrors("a: 1\na: 2\nb: {c: 1, c: 2}\n").count == 2)
    }

    @Test func undefinedAlias() {
        #expect(yamlErrors("a: *nope\n") == ["t.yml:1:4: error: alias `*nope` names no anchor defined before it"])
    }

    @Test func syntaxErrorsUseLibyamlTextAndPosition() {
        let errors = yamlErrors("a: 1\n b: 2\n")
        #expect(errors == ["t.yml:2:3: error: mapping values are not allowed in this context"])
        let unclosed = yamlErrors("a: [1, 2\n")
        #expect(unclosed.count == 1)
        #expect(unclosed[0].hasPrefix("t.yml:2:1: error: did not find expected ',' or ']' (while parsing a flow sequence at line 1, column 4)"))
    }

    @Test func billionLaughsFailsFast() {
        var text = "a: &a [x, x, x, x, x, x, x, x, x]\n"
        var previous = "a"
        for level in 1...12 {
            let name = "l\(level)"
            text += "\(name): &\(name) [" + Array(repeating: "*\(previous)", count: 9).joined(separator: ", ") + "]\n"
            previous = name
        }
        let start = ContinuousClock.now
        let errors = yamlErrors(text)
        let elapsed = ContinuousClock.now - start
        #expect(elapsed < .seconds(1))
        #expect(errors.count == 1)
        #expect(errors.first?.contains("error: alias expansion exceeds the limit of 2000000 nodes (billion-laughs protection)") == true)
        #expect(errors.first?.hasPrefix("t.yml:7:") == true)
    }

    @Test func deepNestingFailsFastWithDepthError() {
        let text = String(repeating: "[", count: 20_000)
        let start = ContinuousClock.now
        let errors = yamlErrors(text)
        #expect(ContinuousClock.now - start < .seconds(1))
        #expect(errors == ["t.yml:1:129: error: nesting deeper than the limit of 128 levels"])
    }

    @Test func nodeLimit() {
        let errors = yamlErrors("[1, 2, 3, 4, 5]", limits: YAMLLimits(maxNodes: 4))
        #expect(errors == ["t.yml:1:11: error: document has more than the limit of 4 nodes"])
    }

    @Test func invalidUTF8() {
        var bytes = Array("a: 1\nb: caf".utf8)
        bytes += [0xC3, 0x28]
        do {
            _ = try YAMLReader.parse(bytes: bytes, displayPath: "t.yml")
            Issue.record("expected an error")
        } catch {
            #expect(error.description == "t.yml:2:7: error: not valid UTF-8 text at byte 11")
        }
    }

    @Test func binaryFile() throws {
        let dir = try TempDir()
        let path = dir.write("bin.yml", bytes: [0x7F, 0x45, 0x4C, 0x46, 0x02, 0x01, 0x00, 0x00])
        do {
            _ = try YAMLReader.parse(contentsOf: path, displayPath: "bin.yml")
            Issue.record("expected an error")
        } catch {
            #expect(error.description == "bin.yml:1:7: error: looks like a binary file (NUL byte at byte 6), not YAML text")
        }
    }

    @Test func fileSizeLimit() throws {
        let dir = try TempDir()
        let path = dir.write("big.yml", "a: 123456789\n")
        do {
            _ = try YAMLReader.parse(contentsOf: path, displayPath: "big.yml", limits: YAMLLimits(maxFileSize: 8))
            Issue.record("expected an error")
        } catch {
            #expect(error.description == "big.yml:1:1: error: file is 13 bytes, more than the limit of 8 bytes")
        }
    }

    @Test func multipleDocuments() throws {
        let docs = try YAMLReader.parse("a: 1\n---\nb: &x 2\n---\nc: 3\n", displayPath: "t.yml")
        #expect(docs.count == 3)
        #expect(docs[1]["b"]?.scalar == .int(2))
        #expect(docs[2].location.description == "t.yml:5:1")
        // anchors do not cross documents
        #expect(yamlErrors("a: &x 1\n---\nb: *x\n") == ["t.yml:3:4: error: alias `*x` names no anchor defined before it"])
    }

    @Test func emptyFileHasNoDocuments() throws {
        #expect(try YAMLReader.parse("", displayPath: "t.yml").isEmpty)
        #expect(try YAMLReader.parse("# only a comment\n", displayPath: "t.yml").isEmpty)
    }

    @Test func largeFileParsesQuickly() throws {
        var text = "records:\n"
        for i in 0..<20_000 {
            text += "  - { name: host\(i), type: A, value: 10.0.\(i / 256 % 256).\(i % 256), ttl: 300 }\n"
        }
        let start = ContinuousClock.now
        let docs = try YAMLReader.parse(text, displayPath: "big.yml")
        print("parsed \(text.utf8.count) bytes in \(ContinuousClock.now - start)")
        #expect(docs[0]["records"]?.items?.count == 20_000)
    }
}
