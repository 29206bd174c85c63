import Foundation
import OttoCore

/// A typed client of haproxy's runtime API (the admin socket): moves traffic between server slots (ready, drain,
/// maint, weight), reads each server's state and haproxy's counters, and saves the state a reload must keep.
///
/// Every call is one command over `transport`. A command haproxy refuses fails with `haproxy.runtime` carrying
/// haproxy's own answer as the cause (e.g. `No such server.`). Backend and server names are checked before they
/// are sent: the runtime API splits commands on `;` and words on blanks.
public struct HAProxyRuntime: Sendable {
    /// How commands reach haproxy.
    public let transport: any HAProxyRuntimeTransport

    /// A client sending its commands over `transport`.
    public init(transport: any HAProxyRuntimeTransport) {
        self.transport = transport
    }

    /// Sets the administrative state of `backend`/`server` (`set server B/S state ready|drain|maint`).
    public func setState(_ state: HAProxyAdminState, backend: String, server: String) async throws {
        try await action("set server \(try Self.word(backend))/\(try Self.word(server)) state \(state.rawValue)")
    }

    /// Sets the administrative state of several servers of `backend` in one round trip (haproxy runs `;`-separated
    /// commands in order, so a switch of many slots is as close to one step as the runtime API allows).
    ///
    /// Servers in `healthy` are also marked up (`set server B/S health up`) right after they are made ready: otto has
    /// checked them itself, and haproxy would otherwise keep a server that leaves maint down until its own checks
    /// pass `rise` times, a gap with no server when the old ones drain in the same step.
    public func setStates(_ changes: [(server: String, state: HAProxyAdminState)], backend: String,
                          healthy: Set<String> = []) async throws {
        guard !changes.isEmpty else { return }
        let b = try Self.word(backend)
        var commands: [String] = []
        for c in changes {
            let s = try Self.word(c.server)
            commands.append("set server \(b)/\(s) state \(c.state.rawValue)")
            if c.state == .ready && healthy.contains(c.server) { commands.append("set server \(b)/\(s) health up") }
        }
        try await action(commands.joined(separator: ";"))
    }

    /// Sets the weight of `backend`/`server` (0 to 256; 0 takes no new connections, like a drain).
    public func setWeight(_ weight: Int, backend: String, server: String) async throws {
        guard (0...256).contains(weight) else {
            throw OttoError("haproxy.runtime.input", "a server's weight is 0 to 256, not \(weight)")
        }
        try await action("set server \(try Self.word(backend))/\(try Self.word(server)) weight \(weight)")
    }

    /// Every server's state (`show servers state`), or only those of `backend`.
    public func serversState(backend: String? = nil) async throws -> [HAProxyServerState] {
        let command = try backend.map { "show servers state \(try Self.word($0))" } ?? "show servers state"
        return try HAProxyServerState.parse(try await query(command))
    }

    /// haproxy's counters and statuses (`show stat`): a row per frontend, backend and server.
    public func stats() async throws -> [HAProxyStat] {
        try HAProxyStat.parse(try await query("show stat"))
    }

    /// Saves `show servers state` into `path` (atomically), where haproxy's `server-state-file` reads it at its next
    /// start or reload: a drain or maint set over this API, and the weights, survive the reload. Run it right before
    /// every reload.
    public func saveServerState(to path: String = HAProxyLayout.machine.serverStateFile) async throws {
        let text = try await query("show servers state")
        _ = try HAProxyServerState.parse(text)  // only a dump haproxy can read back goes into the file
        do {
            try await transport.replaceFile(path, with: text)
        } catch {
            throw OttoError("haproxy.runtime.state", "cannot save haproxy's server state to \(path)", cause: error)
        }
    }

    /// Sends a command that answers nothing when it succeeds; any answer is haproxy's refusal.
    private func action(_ command: String) async throws {
        let answer = try await send(command).trimmingCharacters(in: .whitespacesAndNewlines)
        guard answer.isEmpty else { throw Self.refused(command, answer) }
    }

    /// Sends a `show` command; an answer that is not the listing starts with haproxy's refusal.
    private func query(_ command: String) async throws -> String {
        let answer = try await send(command)
        guard answer.hasPrefix("#") || answer.hasPrefix("1\n") else {
            throw Self.refused(command, answer.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        return answer
    }

    private func send(_ command: String) async throws -> String {
        do {
            return try await transport.send(command)
        } catch let error as OttoError {
            throw error
        } catch {
            throw OttoError("haproxy.runtime.transport", "cannot reach haproxy's runtime API to send `\(command)`", cause: error)
        }
    }

    private static func refused(_ command: String, _ answer: String) -> OttoError {
        OttoError("haproxy.runtime", "haproxy refused `\(command)`", causeText: answer.isEmpty ? "(no answer)" : answer)
    }

    /// `name` when it is one word of the runtime API: not empty; no blanks, control characters, `;` or `\`.
    static func word(_ name: String) throws -> String {
        let ok = !name.isEmpty && name.unicodeScalars.allSatisfy { $0.value > 0x20 && $0.value != 0x7F && $0 != ";" && $0 != "\\" }
        guard ok else { throw OttoError("haproxy.runtime.input", "`\(name)` is not a backend or server name haproxy's runtime API accepts") }
        return name
    }
}
