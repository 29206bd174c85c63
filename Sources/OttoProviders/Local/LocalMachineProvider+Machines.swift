import Foundation
import OttoCore

extension LocalMachineProvider {
    /// Creates and boots machine `machine` from `image` outside the `Provider` protocol: for harnesses that stand
    /// in for a cloud with local machines (the fake DigitalOcean's droplets). `image` is any layer chain: a built
    /// recipe (`images.build`) or one with a layer of `captureLayer(of:name:)` on top. Returns, once sshd answers,
    /// what `observe` reports (`ipv4`, `host_key`, ...).
    ///
    /// Before the first boot the machine's root gets `hostname` (default: the machine name), the host key
    /// `hostKey` says, and `authorizedKeys` (one public key line each) added to root's `authorized_keys` next to
    /// the lines the image already has. otto's own client key is not authorised (unless it is one of them). Then
    /// `customize`, when given, runs with the host path of the machine's mounted root (its overlay), still before the
    /// first boot: what else a cloud's first-boot agent would do (a login user, say; chroot into the root to run the
    /// image's own tools, so a symlink in it never leads out). A machine of that name must not exist yet
    /// (`provider.local.exists`); when `customize` or the boot fails, everything made for it is removed before the
    /// error is thrown.
    public func createMachine(_ machine: String, image: LocalImage, hostKey: LocalHostKeyPolicy = .generate,
                              authorizedKeys: [String], hostname: String? = nil,
                              customize: (@Sendable (_ root: String) async throws -> Void)? = nil) async throws -> ObservedResource {
        try requireRoot()
        guard LocalNames.isMachineName(machine) else {
            throw OttoError("provider.local.config", "invalid machine name \(Value.string(machine)): use a-z, 0-9 and '-', at most 63 characters")
        }
        let hostname = hostname ?? machine
        guard Self.isHostname(hostname) else {
            throw OttoError("provider.local.config", "invalid hostname \(Value.string(hostname)) for machine \(machine): use letters, digits, '.' and '-', at most 253 characters")
        }
        for key in authorizedKeys where key.trimmingCharacters(in: .whitespacesAndNewlines).contains("\n") {
            throw OttoError("provider.local.config", "an authorized key for machine \(machine) spans several lines: give one public key line each")
        }
        let dir = machineDirectory(machine)
        guard !FileManager.default.fileExists(atPath: dir) else {
            throw OttoError("provider.local.exists", "machine \(machine) already exists (\(dir)): delete it first")
        }
        var record = try await allocate(machine: machine, image: image, attributes: [
            AttributeName.Machine.name: .string(machine), AttributeName.Machine.image: .string(image.name),
        ])
        do {
            try await prepareRoot(&record, hostname: hostname, hostKey: hostKey, authorizedKeys: .add(authorizedKeys))
            if let customize { try await customize(dir + "/merged") }
            try await start(record)
        } catch {
            try? await teardown(machine)
            throw error
        }
        return observed(record, running: true)
    }

    /// Starts a machine that exists but is stopped (`stop(_:grace:)`), with the root it had; returns once sshd
    /// answers. A running machine is left as it is.
    public func startMachine(_ machine: String) async throws -> ObservedResource {
        try requireRoot()
        let path = machineDirectory(machine) + "/machine.json"
        guard LocalNames.isMachineName(machine), let record = LocalMachineRecord.load(path) else {
            throw OttoError("provider.local.missing", "machine \(machine) does not exist (no \(path))")
        }
        try await start(record)
        return observed(record, running: true)
    }

    /// Host names a machine may take: letters, digits, '.' and '-', at most 253 characters, no empty label.
    static func isHostname(_ name: String) -> Bool {
        guard !name.isEmpty, name.utf8.count <= 253, !name.hasPrefix("."), !name.hasSuffix("."), !name.contains("..") else { return false }
        return name.utf8.allSatisfy { (0x61...0x7a).contains($0) || (0x41...0x5a).contains($0) || (0x30...0x39).contains($0) || $0 == 0x2d || $0 == 0x2e }
    }
}
