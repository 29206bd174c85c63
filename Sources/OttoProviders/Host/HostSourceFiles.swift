import Foundation
import OttoCore
import Synchronization

/// The project's directories that `directory` resources sync: where they are, and the hash of every file in them,
/// read once per run (the provider lives for one run).
final class HostSourceFiles: Sendable {
    /// The project root relative sources are read from.
    let projectRoot: String
    private let hashes = Mutex<[String: [String: String]]>([:])

    /// Creates the reader.
    init(projectRoot: String) { self.projectRoot = projectRoot }

    /// The absolute path of a source (relative ones are under the project root).
    func path(_ source: String) -> String { source.hasPrefix("/") ? source : projectRoot + "/" + source }

    /// Hashes of every file under a source directory, by relative path.
    func files(_ source: String) throws -> [String: String] {
        if let cached = hashes.withLock({ $0[source] }) { return cached }
        let base = path(source)
        var out: [String: String] = [:]
        guard let walker = FileManager.default.enumerator(atPath: base) else {
            throw OttoError("host.source", "cannot read the directory \(base)")
        }
        while let rel = walker.nextObject() as? String {
            var isDir: ObjCBool = false
            let full = base + "/" + rel
            guard FileManager.default.fileExists(atPath: full, isDirectory: &isDir), !isDir.boolValue else { continue }
            guard let data = FileManager.default.contents(atPath: full) else { throw OttoError("host.source", "cannot read \(full)") }
            out[rel] = ContentHash.sha256(Array(data))
        }
        hashes.withLock { $0[source] = out }
        return out
    }
}

/// What each rendered resource rendered to in this run, so that refresh, plan and apply render it once: the text and
/// its hash, kept with the inputs they came from (a resource whose inputs changed, e.g. an address now known, renders
/// again).
final class HostRenderCache: Sendable {
    private struct Entry {
        var inputs: [String: Value]
        var text: String?
        var sha256: String?
    }
    private let entries = Mutex<[ResourceAddress: Entry]>([:])
    private let renders = Atomic<Int>(0)

    /// How many times a kind's `render` ran (for tests).
    var renderCount: Int { renders.load(ordering: .relaxed) }

    /// The rendering of `address` from `inputs`, with its SHA-256: from the cache when the inputs are the same.
    func rendering(_ address: ResourceAddress, inputs: [String: Value], render: () -> String?) -> (text: String, sha256: String)? {
        if let e = entries.withLock({ $0[address] }), e.inputs == inputs {
            guard let text = e.text, let sha = e.sha256 else { return nil }
            return (text, sha)
        }
        renders.add(1, ordering: .relaxed)
        let text = render()
        let sha = text.map { ContentHash.sha256(Array($0.utf8)) }
        entries.withLock { $0[address] = Entry(inputs: inputs, text: text, sha256: sha) }
        guard let text, let sha else { return nil }
        return (text, sha)
    }
}
