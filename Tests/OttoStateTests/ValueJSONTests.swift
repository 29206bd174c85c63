import Foundation
import OttoCore
import Testing
@testable import OttoState

@Suite("ValueJSON")
struct ValueJSONTests {
    static let attributes = recordWithEveryValue("demo.www.A").attributes

    @Test("round trip of every Value case, including whole doubles")
    func roundTrip() async throws {
        var attributes = Self.attributes
        attributes["whole"] = .double(2)
        attributes["negzero"] = .double(-0.0)
        attributes["tiny"] = .double(.leastNonzeroMagnitude)
        attributes["huge"] = .double(1e300)
        attributes["min"] = .int(Int.min)
        attributes["control"] = .string("\u{0}\u{1}\u{1f}\u{7f}\t\r\n\"\\/")
        attributes["emoji"] = .string("👩‍💻 日本")
        let text = try ValueJSON.encode(attributes)
        #expect(try ValueJSON.decodeAttributes(text) == attributes)
    }

    @Test("JSONDecoder reads what ValueJSON writes, as Value's Codable would")
    func readableByJSONDecoder() async throws {
        let text = try ValueJSON.encode(Self.attributes)
        let decoded = try JSONDecoder().decode([String: Value].self, from: Data(text.utf8))
        #expect(decoded == Self.attributes)
    }

    @Test("ValueJSON reads what JSONEncoder writes for Value")
    func readsJSONEncoderOutput() async throws {
        for formatting: JSONEncoder.OutputFormatting in [[], [.prettyPrinted, .sortedKeys]] {
            let encoder = JSONEncoder()
            encoder.outputFormatting = formatting
            let text = String(decoding: try encoder.encode(Self.attributes), as: UTF8.self)
            #expect(try ValueJSON.decodeAttributes(text) == Self.attributes)
        }
        // Value's Codable writes a whole double without a fraction; both then read it as an int.
        let whole = String(decoding: try JSONEncoder().encode(["d": Value.double(2)]), as: UTF8.self)
        #expect(try ValueJSON.decodeAttributes(whole) == ["d": .int(2)])
    }

    @Test("keys are written sorted, so equal maps give equal text")
    func sortedKeys() async throws {
        let text = try ValueJSON.encode(["b": .int(1), "a": .map(["z": .null, "y": .bool(true)])])
        #expect(text == #"{"a":{"y":true,"z":null},"b":1}"#)
    }

    @Test("escapes and surrogate pairs are decoded")
    func escapes() async throws {
        let text = #"{"s":"a\u00e9\ud83d\ude00\/\b\f\n","n":-12,"e":1E3,"f":-1.5e-2}"#
        #expect(try ValueJSON.decodeAttributes(text) == [
            "s": .string("aé😀/\u{8}\u{c}\n"), "n": .int(-12), "e": .double(1000), "f": .double(-0.015),
        ])
    }

    @Test("addresses", arguments: [[], [ResourceAddress("machine.demo.web[0]"), "dns_record.demo.www.A"]])
    func addresses(_ addresses: [ResourceAddress]) throws {
        #expect(try ValueJSON.decodeAddresses(ValueJSON.encode(addresses)) == addresses)
    }

    @Test("malformed text is an error, not a crash",
          arguments: ["", "{", #"{"a":}"#, #"{"a":1,}"#, "[1 2]", #"{"a":tru}"#, #"{"a":"\ud800"}"#,
                      #"{"a":"\x"}"#, "{\"a\":\"\u{1}\"}", "{} x", "[1]", #"{"a":-}"#, #"{"a":1e999}"#])
    func malformed(_ text: String) {
        #expect(throws: (any Error).self) { try ValueJSON.decodeAttributes(text) }
    }

    @Test("non-finite doubles cannot be encoded")
    func nonFinite() {
        #expect(throws: (any Error).self) { try ValueJSON.encode(["x": .double(.infinity)]) }
        #expect(throws: (any Error).self) { try ValueJSON.encode(["x": .list([.double(.nan)])]) }
    }
}
