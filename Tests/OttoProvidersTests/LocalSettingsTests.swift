import Foundation
import OttoConfig
import OttoCore
import Testing
@testable import OttoProviders

@Suite struct LocalSettingsTests {
    @Test func subnetAddressesSkipNetworkGatewayAndBroadcast() throws {
        let s = try #require(IPv4Subnet(parsing: "10.213.0.128/26"))
        #expect(IPv4Subnet.format(s.gateway) == "10.213.0.129")
        #expect(IPv4Subnet.format(s.broadcast) == "10.213.0.191")
        let range = try #require(s.machineAddresses)
        #expect(IPv4Subnet.format(range.lowerBound) == "10.213.0.130")
        #expect(IPv4Subnet.format(range.upperBound) == "10.213.0.190")
        #expect(s.contains(IPv4Subnet.parseAddress("10.213.0.150")!))
        #expect(!s.contains(IPv4Subnet.parseAddress("10.213.0.1")!))
        #expect(IPv4Subnet(parsing: "10.213.0.7/24")?.description == "10.213.0.0/24")
        for bad in ["10.213.0.0", "10.213.0.0/33", "10.213.0/24", "10.213.0.256/24", "a.b.c.d/8"] { #expect(IPv4Subnet(parsing: bad) == nil) }
    }

    @Test func macIsDerivedFromTheAddress() {
        #expect(IPv4Subnet.mac(for: IPv4Subnet.parseAddress("10.213.0.130")!) == "02:00:0a:d5:00:82")
        #expect(IPv4Subnet.mac(for: IPv4Subnet.parseAddress("192.168.1.2")!) == "02:00:c0:a8:01:02")
    }

    @Test func hostInterfaceNamesAreShortStableAndDistinct() {
        let a = LocalNames.veth("demo-web-0", scope: ""), b = LocalNames.veth("demo-web-1", scope: "")
        #expect(a.utf8.count <= 15 && LocalNames.isInterfaceName(a))
        #expect(a == LocalNames.veth("demo-web-0", scope: ""))
        // The same machine name under another state directory gets other host-global names.
        let other = LocalNames.scope("/var/lib/otto-test")
        #expect(LocalNames.scope(LocalSettings.defaultStateDir) == "")
        #expect(other.count == 7 && other.hasSuffix("-"))
        #expect(LocalNames.veth("demo-web-0", scope: other) != a)
        #expect(LocalNames.netns("demo-web-0", scope: other) != LocalNames.netns("demo-web-0", scope: ""))
        #expect(a != b)
        #expect(LocalNames.isMachineName("demo-web-0"))
        #expect(!LocalNames.isMachineName("../etc"))
        #expect(!LocalNames.isMachineName("Demo"))
    }

    @Test func sha256MatchesTheStandardVectors() {
        #expect(ContentHash.sha256(Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(ContentHash.sha256([]) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        let long = Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)
        #expect(ContentHash.sha256(long) == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    @Test func settingsComeFromInventoryWithDefaults() throws {
        let project = try Project.load(sources: [("inventory/local.yml", """
        providers:
          lab: { type: local, subnet: 10.99.0.0/24, bridge: lab0, state_dir: /srv/otto, mirror: "http://mirror.test/debian" }
        """)])
        let s = try LocalSettings(project.inventory.providers["lab"]?.settingValues)
        #expect(s.subnet.description == "10.99.0.0/24")
        #expect(s.bridge == "lab0")
        #expect(s.stateDir == "/srv/otto")
        #expect(s.mirror(for: "http://recipe.test/debian") == "http://mirror.test/debian")
        let d = try LocalSettings(nil)
        #expect(d.subnet.description == "10.213.0.0/24")
        #expect(d.bridge == "otto0")
        #expect(d.stateDir == "/var/lib/otto")
        #expect(d.mirror(for: "http://recipe.test/debian") == "http://recipe.test/debian")
        #expect(d.mirror(for: nil) == LocalSettings.hostMirror())
    }

    @Test func invalidBridgeNameIsRejected() throws {
        let project = try Project.load(sources: [("inventory/local.yml", "providers:\n  local: { bridge: a-name-longer-than-15 }\n")])
        #expect(throws: OttoError.self) { try LocalSettings(project.inventory.providers["local"]?.settingValues) }
    }
}
