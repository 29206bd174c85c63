import Foundation
import OttoCore

extension LocalMachineProvider {
    /// Captures machine `machine` as a new image layer (a cloud snapshot, locally): its own overlay `upper`
    /// directory, everything written since it was created, copied with `cp -a` (ownership, modes, xattrs and
    /// overlay whiteouts kept) into `<state_dir>/images/<id>/upper`. The image returned is that layer on top of the
    /// machine's layers; `createMachine` boots machines from it.
    ///
    /// Capture a stopped machine (`stop(_:grace:)`) for a consistent copy; a running one is synced first and copied
    /// as it is at that moment. The id is random (a captured layer is not reproducible); `image.json` names the
    /// machine it came from and the whole chain, so `capturedLayers()` finds it again.
    public func captureLayer(of machine: String, name: String) async throws -> LocalImage {
        try requireRoot()
        let dir = machineDirectory(machine)
        guard LocalNames.isMachineName(machine), let record = LocalMachineRecord.load(dir + "/machine.json") else {
            throw OttoError("provider.local.missing", "machine \(machine) does not exist (no \(dir)/machine.json)")
        }
        guard FileManager.default.fileExists(atPath: dir + "/upper") else {
            throw OttoError("provider.local.capture", "machine \(machine) has no upper directory yet: it never booted")
        }
        let started = Date()
        if LocalHost.mountPoints().contains(dir + "/merged") {
            try await LocalCommand.run(["sync", "-f", dir + "/merged"])
        }
        let id = ContentHash.sha256(Array("otto-captured-layer 1\n\(machine)\n\(record.imageID)\n\(UUID().uuidString)\n".utf8))
        let layerDir = images.directory(id)
        let layers = [layerDir + "/upper"] + record.layers
        do {
            try FileManager.default.createDirectory(atPath: layerDir, withIntermediateDirectories: true)
            try await LocalCommand.run(["cp", "-a", dir + "/upper", layerDir + "/upper"])
            let fields: [String: Value] = [
                "name": .string(name), "id": .string(id), "parent": .string(record.imageID),
                "captured_from": .string(machine), "layers": .list(layers.map(Value.string)),
            ]
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            try LocalHost.write(String(decoding: try encoder.encode(fields), as: UTF8.self) + "\n", to: layerDir + "/image.json")
            try LocalHost.write("", to: layerDir + "/complete") // last: marks the layer usable
        } catch {
            try? LocalRootFS.removeTree(layerDir)
            throw OttoError("provider.local.capture", "cannot capture machine \(machine) into layer \(layerDir)", cause: error)
        }
        return LocalImage(name: name, id: id, layers: layers, directory: layerDir, cached: false,
                          seconds: Date().timeIntervalSince(started))
    }

    /// The complete layers `captureLayer(of:name:)` made in this state directory, each as the image it tops.
    public func capturedLayers() -> [LocalImage] {
        let root = images.imagesDirectory
        var out: [LocalImage] = []
        for entry in ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).sorted() {
            let dir = images.directory(entry)
            guard images.isComplete(entry), let fields = Self.capturedMetadata(dir), let name = fields["name"]?.stringValue,
                  let layers = fields["layers"]?.listValue?.compactMap(\.stringValue) else { continue }
            out.append(LocalImage(name: name, id: entry, layers: layers, directory: dir, cached: true, seconds: 0))
        }
        return out
    }

    /// Removes a layer `captureLayer(of:name:)` made. Refuses (`provider.local.layer_in_use`) while a machine boots
    /// from it or another captured layer is built on it, and refuses any other directory; a layer already gone is
    /// fine.
    public func removeCapturedLayer(_ image: LocalImage) async throws {
        try requireRoot()
        let dir = images.directory(image.id)
        guard image.id.count == 64, image.id.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) }),
              image.directory == dir else {
            throw OttoError("provider.local.layer", "\(image.directory) is not a layer of \(images.imagesDirectory): refusing to remove it")
        }
        guard FileManager.default.fileExists(atPath: dir) else { return }
        guard Self.capturedMetadata(dir) != nil else {
            throw OttoError("provider.local.layer", "\(dir) was not made by captureLayer (a built image): refusing to remove it")
        }
        let top = dir + "/upper"
        var users: [String] = []
        for entry in ((try? FileManager.default.contentsOfDirectory(atPath: machinesDirectory)) ?? []).sorted() {
            if let record = LocalMachineRecord.load(machineDirectory(entry) + "/machine.json"), record.layers.contains(top) {
                users.append("machine \(entry)")
            }
        }
        for other in capturedLayers() where other.id != image.id && other.layers.contains(top) {
            users.append("layer \(other.id.prefix(12)) (\(other.name))")
        }
        guard users.isEmpty else {
            throw OttoError("provider.local.layer_in_use", "layer \(image.id.prefix(12)) (\(image.name)) is in use by \(users.joined(separator: ", "))")
        }
        try LocalRootFS.removeTree(dir)
    }

    /// The fields of a captured layer's `image.json`, nil for any other directory.
    static func capturedMetadata(_ dir: String) -> [String: Value]? {
        guard let data = FileManager.default.contents(atPath: dir + "/image.json"),
              let fields = try? JSONDecoder().decode([String: Value].self, from: data), fields["captured_from"]?.stringValue != nil else {
            return nil
        }
        return fields
    }
}
