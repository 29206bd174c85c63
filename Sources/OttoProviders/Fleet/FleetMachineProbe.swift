import Foundation
import OttoCore
import OttoSSH

/// What one machine holds of otto's fleet units, found with one SSH round trip: every unit file in
/// `/etc/systemd/system` marked as a fleet unit of a site otto asks about, its SHA-256, and systemd's view of it.
enum FleetMachineProbe {
    /// One unit file found on a machine.
    struct UnitFacts: Sendable, Hashable {
        var site: String
        var sha256: String
        var loadState = ""
        var activeState = ""
        var subState = ""

        /// `launched` while systemd runs it (or is starting it), `loaded` otherwise: fleet's states from systemd's.
        var currentState: FleetUnitState {
            ["active", "activating", "reloading"].contains(activeState) ? .launched : .loaded
        }
    }

    /// The marker line that makes a unit file one of otto's fleet units of `site`.
    static func marker(_ site: String) -> String { "# otto-fleet-site: \(site)" }

    /// The script listing the fleet units of `sites`: `file SITE NAME SHA` lines, then `systemctl show` blocks.
    static func script(sites: [String]) -> String {
        var s = "cd /etc/systemd/system 2>/dev/null || exit 0\nall=''\n"
        for site in sites.sorted() {
            s += """
                names=$(grep -l -x -F -- \(ShellQuote.quote(marker(site))) * 2>/dev/null)
                for f in $names; do printf 'file\\t%s\\t%s\\t%s\\n' \(ShellQuote.quote(site)) "$f" "$(sha256sum < "$f" | cut -c1-64)"; done
                all="$all $names"

                """
        }
        s += "[ -n \"${all# }\" ] && systemctl show -p Id,LoadState,ActiveState,SubState -- $all\nexit 0\n"
        return s
    }

    /// The units the script's output lists, by unit name.
    static func parse(_ output: String) -> [String: UnitFacts] {
        var out: [String: UnitFacts] = [:]
        var block: [String: String] = [:]
        func flush() {
            if let id = block["Id"], var facts = out[id] {
                facts.loadState = block["LoadState"] ?? ""
                facts.activeState = block["ActiveState"] ?? ""
                facts.subState = block["SubState"] ?? ""
                out[id] = facts
            }
            block = [:]
        }
        for line in output.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("file\t") {
                let parts = line.split(separator: "\t", omittingEmptySubsequences: false)
                if parts.count == 4 { out[String(parts[2])] = UnitFacts(site: String(parts[1]), sha256: String(parts[3])) }
                continue
            }
            if line.isEmpty { flush(); continue }
            if let eq = line.firstIndex(of: "=") { block[String(line[..<eq])] = String(line[line.index(after: eq)...]) }
        }
        flush()
        return out
    }
}

/// `systemctl daemon-reload` once per machine for many unit changes at once: writers of one machine that arrive
/// within a short window (or while a reload waits to start) share one reload.
actor SystemdReloads {
    private var pending: [String: Task<Void, any Error>] = [:]

    /// Reloads systemd on `machine` through `session`, joining a reload that has not started yet.
    func reload(_ machine: String, _ session: SSHSession) async throws {
        if let t = pending[machine] { return try await t.value }
        let t = Task<Void, any Error> {
            try? await Task.sleep(for: .milliseconds(40))
            await self.starting(machine)
            let r = try await session.exec("systemctl daemon-reload", timeout: .seconds(120))
            guard r.status == 0 else {
                throw OttoError("fleet.reload", "\(machine): systemctl daemon-reload failed: \(r.stderrText.trimmingCharacters(in: .whitespacesAndNewlines))")
            }
        }
        pending[machine] = t
        try await t.value
    }

    private func starting(_ machine: String) {
        pending[machine] = nil
    }
}

/// `systemd-analyze verify` once per machine for many units at once: units of one machine that arrive within a short
/// window are staged together (one round trip: the texts on standard input, each cut off by its length) and checked
/// by one `systemd-analyze verify`. When the batch does not pass, each of its units is checked alone, so a unit's
/// verdict (and its message) is its own.
actor UnitVerifications {
    private struct Waiting {
        var units: [(name: String, content: [UInt8])] = []
        var task: Task<Bool, any Error>
    }
    private var pending: [String: Waiting] = [:]

    /// Checks `content` as unit `name` on `machine`; throws the unit's own verification error.
    func verify(name: String, content: [UInt8], machine: String, session: SSHSession) async throws {
        let task: Task<Bool, any Error>
        if var w = pending[machine] {
            w.units.append((name, content))
            pending[machine] = w
            task = w.task
        } else {
            task = Task<Bool, any Error> {
                try? await Task.sleep(for: .milliseconds(40))
                let units = await self.take(machine)
                return try await Self.verifyAll(units, session: session)
            }
            pending[machine] = Waiting(units: [(name, content)], task: task)
        }
        if try await task.value { return }
        try await HostUnitKind.verify(name: name, content: content, session: session, machine: machine)
    }

    private func take(_ machine: String) -> [(name: String, content: [UInt8])] {
        pending.removeValue(forKey: machine)?.units ?? []
    }

    /// True when every unit verifies with no output at all.
    private static func verifyAll(_ units: [(name: String, content: [UInt8])], session: SSHSession) async throws -> Bool {
        guard !units.isEmpty else { return true }
        var script = "d=$(mktemp -d /tmp/otto-unit.XXXXXX) || exit 1\n"
        var stdin: [UInt8] = []
        var names: [String] = []
        for (name, content) in units where !names.contains(name) {
            // GNU head reads no more than it is asked for, so each file takes exactly its own bytes of the input.
            script += "head -c \(content.count) > \"$d\"/\(ShellQuote.quote(name)) || { rm -rf -- \"$d\"; exit 1; }\n"
            stdin += content
            names.append(name)
        }
        script += "cd \"$d\" && systemd-analyze verify -- " + names.map { "./" + ShellQuote.quote($0) }.joined(separator: " ")
            + " 2>&1; s=$?; cd /; rm -rf -- \"$d\"; exit $s\n"
        let r = try await session.exec("sh -c \(ShellQuote.quote(script))", stdin: stdin, timeout: .seconds(120))
        return r.status == 0 && r.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty
    }
}
