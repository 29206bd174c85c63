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
        var unitFileState = ""

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
        s += "[ -n \"${all# }\" ] && systemctl show -p Id,LoadState,ActiveState,SubState,UnitFileState -- $all\nexit 0\n"
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
                facts.unitFileState = block["UnitFileState"] ?? ""
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
    /// How many reloads ran, by machine (tests and the bench read it).
    private(set) var counts: [String: Int] = [:]

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
        counts[machine, default: 0] += 1
    }
}
