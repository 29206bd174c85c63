import OttoCore
import OttoSSH

/// `package`: apt packages installed on the machine (one resource per machine, every name its site asks for).
/// Removing one from the configuration only forgets it: packages stay installed.
struct HostPackageKind: HostKind {
    private typealias P = AttributeName.Package
    let kind = "package"
    let schema = HostShared.schema("package", [.required(P.names, .strings, unordered: true)])

    private func names(_ a: [String: Value]) -> [String] { (a[P.names]?.listValue ?? []).compactMap(\.stringValue) }

    func probe(index i: Int, _ a: [String: Value]) -> String { probe(index: i, a, memo: nil) }

    /// dpkg-query reads the whole package database (`status`, and `updates/` while dpkg runs or after it was
    /// interrupted). A warm session remembers the answer with the database's state (inode, size, mtime and ctime of
    /// both; dpkg replaces `status` by a rename, so every write gives it a new inode): while that state is the same,
    /// the probe only stats it. The names must be the same too.
    func probe(index i: Int, _ a: [String: Value], memo: String?) -> String {
        let names = names(a)
        let known = Memo(memo).flatMap { $0.names == Memo.key(names) ? $0.state : nil } ?? ""
        let query = "dpkg-query -W -f='${Package} ${db:Status-Status}\\n' -- \(names.map(ShellQuote.quote).joined(separator: " ")) 2>/dev/null "
            + "| while read -r n st; do p \(i) pkg \"$n $st\"; done"
        return "d=${DPKG_ADMINDIR:-/var/lib/dpkg}; k=$(stat --printf '%i %s %y %z|' -- \"$d/status\" \"$d/updates\" 2>/dev/null); "
            + "if [ -n \"$k\" ] && [ \"$k\" = \(ShellQuote.quote(known)) ]; then p \(i) pkgsame 1; else p \(i) pkgdb \"$k\"; \(query); fi"
    }

    /// dpkg's database: `status` (replaced by a rename on every write) and `updates/` (its journal).
    func watched(_ a: [String: Value]) -> [String]? {
        ["\"${DPKG_ADMINDIR:-/var/lib/dpkg}/status\"", "\"${DPKG_ADMINDIR:-/var/lib/dpkg}/updates\""]
    }

    /// Keeps the answer when dpkg-query reported every name (a name it does not know is asked again next time).
    func recall(_ f: inout HostProbe.Facts, _ a: [String: Value], memo: String?) -> String? {
        let names = names(a)
        if f.values["pkgsame"] != nil {
            guard let m = Memo(memo), m.names == Memo.key(names) else { return nil }
            f.packages = m.packages
            return memo
        }
        guard let state = f.values["pkgdb"], !state.isEmpty, names.allSatisfy({ f.packages[$0] != nil }) else { return nil }
        return Memo(state: state, names: Memo.key(names), packages: f.packages).text
    }

    /// What a probe remembers: the database state, the names asked for, and dpkg's status of each.
    private struct Memo {
        var state: String
        var names: String
        var packages: [String: String]

        static func key(_ names: [String]) -> String { names.map(ShellQuote.quote).joined(separator: " ") }

        init(state: String, names: String, packages: [String: String]) {
            self.state = state
            self.names = names
            self.packages = packages
        }

        /// Lines: the state, the names, then `name status` per package.
        init?(_ text: String?) {
            guard let lines = text?.split(separator: "\n", omittingEmptySubsequences: false), lines.count >= 2 else { return nil }
            state = String(lines[0])
            names = String(lines[1])
            packages = [:]
            for line in lines.dropFirst(2) {
                let kv = line.split(separator: " ", maxSplits: 1)
                if kv.count == 2 { packages[String(kv[0])] = String(kv[1]) }
            }
        }

        var text: String { ([state, names] + packages.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }).joined(separator: "\n") }
    }

    func observe(_ a: inout [String: Value], requested: [String: Value], facts f: HostProbe.Facts) -> Bool {
        a[P.names] = .list(names(requested).filter { f.packages[$0] == "installed" }.map { .string($0) })
        return true
    }

    func converge(_ r: Resource, current: ObservedResource?, on host: HostTarget) async throws {
        let have = Set(names(current?.attributes ?? [:]))
        let missing = names(r.attributes).filter { !have.contains($0) }
        if !missing.isEmpty {
            try await host.run("DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends -- "
                               + missing.map(ShellQuote.quote).joined(separator: " "))
        }
    }
}
