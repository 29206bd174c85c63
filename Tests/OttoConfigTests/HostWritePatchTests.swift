import Foundation
@testable import OttoConfig
import OttoCore
import OttoTestSupport
import Testing

/// API host writes are checked alone (`DesiredStateSnapshot.patchingHosts`) when nothing but the inventory reads the
/// host; the snapshot they give must be the one a full build of the same files and items gives.
@Suite struct HostWritePatchTests {
    /// YAML with a site on static group `app`, a YAML group `yg` naming a YAML host and `ghost` (defined by no one
    /// unless the API defines it), and a zone site.
    static let sources: [(displayPath: String, text: String)] = [
        ("inventory/main.yml", """
            providers:
              pdns: { type: powerdns, url: "http://127.0.0.1:1" }
            hosts:
              y1: { address: 192.0.2.201, groups: [yg] }
            groups:
              yg: [y1, ghost]
            """),
        ("sites/s.yml", "site: s\ndomain: s.test\nprovider: static\nmachines:\n  app: { count: 1 }\n"),
    ]

    /// A host document, valid or not in one of the ways a client gets it wrong.
    static func document(_ random: inout SplitMix64, groups pool: [String]) -> String {
        let groups = pool.filter { _ in Bool.random(using: &random) }.map { "\"\($0)\"" }.joined(separator: ", ")
        let address = "192.0.2.\(Int.random(in: 1...250, using: &random))"
        switch Int.random(in: 0..<10, using: &random) {
        case 0: return #"{"address": "\#(address)", "port": 70000, "groups": [\#(groups)]}"#
        case 1: return #"{"address": "\#(address)", "groups": "\#(pool[0])"}"#
        case 2: return #"{"address": "\#(address)", "groups": [\#(groups)], "colour": "blue"}"#
        case 3: return #"{"address": "\#(address)", "vars": [1, 2]}"#
        case 4: return #"{"address": "\#(address)", "groups": [\#(groups)],"#
        case 5: return #"{"address": "\#(address)", "groups": [1, {"a": 2}]}"#
        default:
            return #"{"address": "\#(address)", "port": \#(Int.random(in: 1...65535, using: &random)), "groups": [\#(groups)], "vars": {"n": \#(Int.random(in: 0...9, using: &random))}}"#
        }
    }

    /// Where two snapshots differ in what they answer and check with (empty when they agree).
    static func differences(_ a: DesiredStateSnapshot, _ b: DesiredStateSnapshot) -> [String] {
        var out: [String] = []
        func check<T: Equatable>(_ what: String, _ x: T, _ y: T) { if x != y { out.append("\(what):\n  patched: \(x)\n  full:    \(y)") } }
        check("hosts", a.project.inventory.hosts, b.project.inventory.hosts)
        check("groups", a.project.inventory.groups, b.project.inventory.groups)
        check("group locations", a.project.inventory.groupLocations, b.project.inventory.groupLocations)
        check("inventory", a.project.inventory, b.project.inventory)
        check("resources", a.project.resources, b.project.resources)
        check("sites", a.project.sites.map(\.name) + a.project.apiSites.map(\.name), b.project.sites.map(\.name) + b.project.apiSites.map(\.name))
        check("warnings", a.project.warnings.map(\.description).sorted(), b.project.warnings.map(\.description).sorted())
        check("diagnostics", a.diagnostics.map(\.description).sorted(), b.diagnostics.map(\.description).sorted())
        check("host bodies", a.renderedHosts.mapValues { String(decoding: $0.body, as: UTF8.self) }, b.renderedHosts.mapValues { String(decoding: $0.body, as: UTF8.self) })
        check("inventory body", String(decoding: a.inventoryBody, as: UTF8.self), String(decoding: b.inventoryBody, as: UTF8.self))
        check("index", a.writeIndex, b.writeIndex)
        check("nameserver bodies", a.nameserverBodies, b.nameserverBodies)
        check("record bodies", a.recordBodies, b.recordBodies)
        check("host order", a.hostOrder, b.hostOrder)
        return out
    }

    @Test(arguments: [1, 2, 3, 4])
    func patchedWritesEqualAFullBuildOverManyRandomEdits(seed: UInt64) throws {
        var random = SplitMix64(seed: seed)
        let files = ProjectFiles.parse(sources: Self.sources, root: ".")
        let names = (0..<6).map { "a\($0)" } + ["ghost", "y1", "Bad_Name"]
        let groups = ["g1", "g2", "g3", "app", "yg"]
        // A zone written over the API: its answers must come through host writes untouched.
        let zone = APIItem(key: APIItemKey(.records, "z.test"), provider: "pdns",
                           document: #"{"records": [{"name": "www", "type": "A", "values": ["192.0.2.9"]}]}"#)
        var items: [APIItemKey: APIItem] = [zone.key: zone]
        var current = DesiredStateSnapshot(files: files, items: items)
        var patched = 0, rebuilt = 0
        for step in 0..<150 {
            let name = names.randomElement(using: &random)!
            #expect(!current.recordBodies.isEmpty)
            let key = APIItemKey(.host, name)
            var put: [APIItem] = [], remove: [APIItemKey] = []
            if items[key] != nil && Int.random(in: 0..<4, using: &random) == 0 {
                remove = [key]
            } else {
                // Mostly groups only API hosts use, so the patch is taken; sometimes one a site or YAML reads.
                let pool = Int.random(in: 0..<3, using: &random) == 0 ? groups : Array(groups.prefix(3))
                put = [APIItem(key: key, document: Self.document(&random, groups: pool), updatedAt: Date(timeIntervalSince1970: Double(step)))]
            }
            var next = items
            for k in remove { next[k] = nil }
            for item in put { next[item.key] = item }
            let full = DesiredStateSnapshot(files: files, items: next, previous: current)
            if let patch = current.patchingHosts(put: put, remove: remove) {
                patched += 1
                let differences = Self.differences(patch, full)
                if !differences.isEmpty {
                    let edit = put.map { "put \($0.key.name) \($0.document)" } + remove.map { "remove \($0.name)" }
                    Issue.record(Comment(rawValue: "step \(step), \(edit):\n" + differences.joined(separator: "\n")))
                    return
                }
                current = patch
            } else {
                rebuilt += 1
                current = full
            }
            items = next
        }
        // Both ways were taken often, so the comparison covered the patch.
        #expect(patched >= 60 && rebuilt >= 10, "patched \(patched), rebuilt \(rebuilt)")
    }

    @Test func writesOfZonesReleasesOrSeveralKindsAreRebuilt() {
        let files = ProjectFiles.parse(sources: Self.sources, root: ".")
        let base = DesiredStateSnapshot(files: files, items: [:])
        let zone = APIItem(key: APIItemKey(.records, "z.test"), provider: "pdns", document: #"{"records": []}"#)
        let host = APIItem(key: APIItemKey(.host, "a1"), document: #"{"groups": ["g1"]}"#)
        #expect(base.patchingHosts(put: [zone], remove: []) == nil)
        #expect(base.patchingHosts(put: [host, zone], remove: []) == nil)
        // A host joining the site's group changes the site (its machine now has a host): rebuilt, and the error goes.
        let joining = APIItem(key: APIItemKey(.host, "a1"), document: #"{"groups": ["app"]}"#)
        #expect(base.patchingHosts(put: [joining], remove: []) == nil)
        #expect(base.diagnostics.contains { $0.message.contains("needs 1 host(s) in inventory group `app`") })
        #expect(!DesiredStateSnapshot(files: files, items: [joining.key: joining]).diagnostics.contains {
            $0.message.contains("needs 1 host(s)")
        })
        // Defining the host a YAML group names clears that group's error: rebuilt too.
        let ghost = APIItem(key: APIItemKey(.host, "ghost"), document: "{}")
        #expect(base.patchingHosts(put: [ghost], remove: []) == nil)
        #expect(base.patchingHosts(put: [host], remove: []) != nil)
    }
}
