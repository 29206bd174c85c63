import Foundation
import OttoCore

/// How a cloud provider checks the host keys of the machines it creates (the provider setting `host_keys`).
public enum HostKeyMode: String, Sendable, Hashable, CaseIterable {
    /// otto makes each new machine's host key, sends it in user data, pins it, and replaces it at the first connection
    /// with one made on the machine (the default).
    case pinned
    /// Machines are checked against the `known_hosts` file, which the operator keeps (as before pinning existed).
    case knownHosts = "known_hosts"

    /// Reads the `host_keys` setting (absent: pinned).
    init(setting value: Value?, place: String) throws {
        guard let value, value != .null else { self = .pinned; return }
        guard let text = value.stringValue, let mode = HostKeyMode(rawValue: text) else {
            throw OttoError("provider.config", "\(place): `host_keys` must be `pinned` or `known_hosts`, got \(value)")
        }
        self = mode
    }
}

/// The host keys otto pinned for one cloud machine, kept with the machine itself (tags on the droplet or instance),
/// so a run killed between creating the machine and recording it in state still knows them.
///
/// - `boot`: the key otto made and sent in user data; present until the rotation finished.
/// - `current`: the key made on the machine at the first connection (normally one; two only if a rotation was
///   interrupted between pinning a key and removing a stale one).
///
/// Every pinned key is accepted while a rotation is unfinished; `pending` then asks for an update that finishes it.
struct HostKeyPins: Sendable, Hashable {
    var boot: String?
    var current: [String]

    /// No key pinned: the machine is checked against known_hosts.
    var isEmpty: Bool { boot == nil && current.isEmpty }
    /// True while the key that travelled in user data is still pinned.
    var pending: Bool { boot != nil }
    /// Every key to accept, boot key last.
    var all: [String] { current + (boot.map { [$0] } ?? []) }

    /// The `host_key` attribute: the pinned keys, one per line (null when none).
    var attribute: Value { isEmpty ? .null : .string(all.joined(separator: "\n")) }

    // MARK: DigitalOcean tags

    /// Tag prefix of the boot key on a droplet.
    static let bootTagPrefix = "otto-hostkey-boot:"
    /// Tag prefix of the rotated key on a droplet.
    static let tagPrefix = "otto-hostkey:"

    /// Reads the pins from a droplet's tags (`otto-hostkey[-boot]:` + the ed25519 key's 32 bytes in base64url: DigitalOcean
    /// tag names allow only letters, digits, `-`, `_` and `:`).
    init(dropletTags tags: [String]) {
        boot = nil
        current = []
        for tag in tags.sorted() {
            if tag.hasPrefix(Self.bootTagPrefix) {
                boot = Self.key(fromTag: String(tag.dropFirst(Self.bootTagPrefix.count))) ?? boot
            } else if tag.hasPrefix(Self.tagPrefix), let key = Self.key(fromTag: String(tag.dropFirst(Self.tagPrefix.count))) {
                current.append(key)
            }
        }
    }

    init(boot: String?, current: [String]) {
        self.boot = boot
        self.current = current
    }

    /// The droplet tag for `key` (an ed25519 key line); nil for other key types.
    static func dropletTag(_ key: String, boot: Bool) -> String? {
        let fields = key.split(separator: " ")
        guard fields.count >= 2, fields[0] == "ssh-ed25519", let blob = Data(base64Encoded: String(fields[1])), blob.count == 51 else { return nil }
        var text = blob.suffix(32).base64EncodedString()
        text = text.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        while text.hasSuffix("=") { text.removeLast() }
        return (boot ? bootTagPrefix : tagPrefix) + text
    }

    /// The ed25519 key line a tag's base64url text stands for.
    static func key(fromTag text: String) -> String? {
        var b64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while b64.count % 4 != 0 { b64 += "=" }
        guard let raw = Data(base64Encoded: b64), raw.count == 32 else { return nil }
        var blob = SSHWire()
        blob.string("ssh-ed25519")
        blob.string([UInt8](raw))
        return "ssh-ed25519 " + Data(blob.bytes).base64EncodedString()
    }

    // MARK: EC2 tags

    /// Tag key of the boot key on an instance (value: the key line).
    static let awsBootTag = "otto:host_key_boot"
    /// Tag key of the rotated key on an instance.
    static let awsTag = "otto:host_key"

    /// Reads the pins from an instance's tags.
    init(instanceTags tags: [String: String]) {
        boot = tags[Self.awsBootTag]
        current = tags[Self.awsTag].map { [$0] } ?? []
    }
}
