import Foundation
import OttoCore

/// What `<state_dir>/machines/<name>/machine.json` holds: the facts of one machine that cannot be read back from
/// the kernel (its address, MAC, image and host key). Everything else (running or not) is observed.
struct LocalMachineRecord: Codable, Sendable, Hashable {
    /// Machine name (hostname, nspawn machine name).
    var name: String
    /// IPv4 address on the bridge.
    var ipv4: String
    /// MAC of the guest's eth0, derived from the address.
    var mac: String
    /// Prefix length of the subnet (for eth0's address).
    var prefix: Int
    /// The gateway (the bridge's address).
    var gateway: String
    /// Image name and content id.
    var imageName: String
    var imageID: String
    /// Overlay lower layers, topmost first.
    var layers: [String]
    /// `ssh-ed25519 AAAA…` (no comment), empty until generated.
    var hostKey: String
    /// The desired attributes last applied (name, group, image, size, region, …).
    var attributes: [String: Value]

    /// Reads a record; nil when missing or unreadable.
    static func load(_ path: String) -> LocalMachineRecord? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return try? JSONDecoder().decode(LocalMachineRecord.self, from: data)
    }

    /// Writes the record atomically.
    func save(_ path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        try LocalHost.write(String(decoding: try encoder.encode(self), as: UTF8.self) + "\n", to: path)
    }
}
