import OttoCore
import OttoSSH

/// `package`: apt packages installed on the machine (one resource per machine, every name its site asks for).
/// Removing one from the configuration only forgets it: packages stay installed.
struct HostPackageKind: HostKind {
    private typealias P = AttributeName.Package
    let kind = "package"
    let schema = HostShared.schema("package", [.required(P.names, .strings, unordered: true)])

    private func names(_ a: [String: Value]) -> [String] { (a[P.names]?.listValue ?? []).compactMap(\.stringValue) }

    func probe(index i: Int, _ a: [String: Value]) -> String {
        let names = names(a).map(ShellQuote.quote).joined(separator: " ")
        return "dpkg-query -W -f='${Package} ${db:Status-Status}\\n' -- \(names) 2>/dev/null | while read -r n st; do p \(i) pkg \"$n $st\"; done"
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
