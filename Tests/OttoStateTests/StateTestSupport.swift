import Foundation
import OttoCore
@testable import OttoState

let sqlite3Path = "/usr/bin/sqlite3"
let hasSQLite3CLI = FileManager.default.isExecutableFile(atPath: sqlite3Path)

/// A record whose attributes hold every `Value` case.
func recordWithEveryValue(_ name: String) -> ResourceRecord {
    ResourceRecord(
        address: ResourceAddress(kind: "dns_record", name: name),
        provider: "powerdns.main",
        providerID: "id-\(name)",
        attributes: [
            "null": .null,
            "true": .bool(true),
            "false": .bool(false),
            "int": .int(-42),
            "big": .int(Int.max),
            "double": .double(1.5),
            "string": .string("a \"quoted\" line\nwith ünïcödé / slash"),
            "empty": .string(""),
            "list": .list([.int(1), .string("two"), .list([.bool(false)])]),
            "map": .map(["nested": .map(["x": .double(-0.25)]), "ttl": .int(300)]),
            "ref": .ref(.init(ResourceAddress(kind: "machine", name: "demo.web[0]"), "ipv4")),
            "unknown": .unknown,
        ],
        dependencies: [ResourceAddress(kind: "machine", name: "demo.web[0]"),
                       ResourceAddress(kind: "dns_zone", name: "demo")])
}
