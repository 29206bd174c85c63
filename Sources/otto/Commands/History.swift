import ArgumentParser
import Foundation
import OttoCore
import OttoState

/// `otto history [--app A] [--in ENV] [--version V] [--limit N] [--json]`: the project's deployment ledger, newest first.
struct History: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the deployment ledger, newest first: which build went where, when, by whom, how it ended and who verified it.")
    @OptionGroup var global: GlobalOptions
    @Option(name: .long, help: "Only deployments of this app.") var app: String?
    @Option(name: .customLong("in"), help: "Only deployments to this environment (default: every environment).") var environment: String?
    @Option(name: .long, help: "Only deployments of this version.") var version: String?
    @Option(name: .long, help: "At most this many deployments (default 50).") var limit: Int = 50
    @Flag(name: .long, help: "Print JSON: {\"items\": [...]}, the shape of GET /v1/deployments.") var json = false

    func run() async throws {
        let list: DeploymentList
        var promotions: [Promotion] = [], approvals: [Approval] = []
        do {
            guard (1...1000).contains(limit) else { throw OttoError("cli.flags", "--limit must be from 1 to 1000, got \(limit)") }
            let root = (global.dir as NSString).standardizingPath
            let url = global.ledgerURL
            // No ledger yet means no deployments yet; reading must not create an SQLite one (a PostgreSQL one is opened).
            if try PostgresLocation.matches(url) || FileManager.default.fileExists(atPath: StateURL.sqlitePath(url, root: root)) {
                guard let store = try await Blocking.run({ try StateURL.open(url, root: root) }) as? any DeployLedger else {
                    throw OttoError("state.ledger", "this state store keeps no deployment ledger")
                }
                list = DeploymentList(items: try await store.deployments(DeploymentQuery(app: app, environment: environment,
                                                                                          version: version, limit: limit)))
                if !json {
                    promotions = try await store.promotions(app: app, to: nil, deployment: nil, limit: limit)
                        .filter { p in environment.map { p.to == $0 || p.from == $0 } ?? true && version.map { p.version == $0 } ?? true }
                    approvals = try await store.approvals(app: app, environment: environment, limit: limit)
                        .filter { a in version.map { a.version == $0 } ?? true }
                }
            } else {
                list = DeploymentList(items: [])
            }
        } catch { throw fail(error) }
        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            Terminal.out(String(decoding: (try? enc.encode(list)) ?? Data("{\"items\":[]}".utf8), as: UTF8.self) + "\n")
            return
        }
        Terminal.out(Self.table(list))
        if !promotions.isEmpty {
            var rows: [[String]] = [["PROMOTION", "APP", "VERSION", "DIGEST", "FROM", "TO", "DEPLOYMENTS", "AT", "BY", "GATES"]]
            for p in promotions {
                rows.append([String(p.id), p.app, p.version, String(p.digest.prefix(12)), p.from, p.to, "\(p.sourceDeployment) -> \(p.deployment)",
                             StatusPage.time(p.at), p.by, p.gates.map(\.rawValue).joined(separator: ",")])
            }
            Terminal.out("\n" + TextTable.render(rows))
        }
        if !approvals.isEmpty {
            var rows: [[String]] = [["APPROVAL", "APP", "VERSION", "DIGEST", "FOR", "AT", "BY", "NOTE"]]
            for a in approvals {
                rows.append([String(a.id), a.app, a.version, String(a.digest.prefix(12)), a.environment, StatusPage.time(a.at), a.by,
                             a.note.isEmpty ? "-" : a.note])
            }
            Terminal.out("\n" + TextTable.render(rows))
        }
    }

    /// One row per deployment.
    static func table(_ list: DeploymentList) -> String {
        guard !list.items.isEmpty else { return "No deployments yet.\n" }
        var rows: [[String]] = [["#", "APP", "VERSION", "DIGEST", "ENVIRONMENT", "STATE", "CREATED", "DURATION", "BY", "VERIFIED", "REASON"]]
        for d in list.items {
            let duration = d.startedAt.flatMap { start in d.finishedAt.map { Releases.duration($0.timeIntervalSince(start)) } } ?? "-"
            let checks = d.verifications.map { "\($0.by) \($0.result.rawValue)" }.joined(separator: ", ")
            rows.append([String(d.id), d.app, d.version, String(d.digest.prefix(12)), d.environment, d.state.rawValue,
                         StatusPage.time(d.createdAt), duration, d.createdBy, checks.isEmpty ? "-" : checks,
                         d.reason.isEmpty ? "-" : d.reason])
        }
        return TextTable.render(rows)
    }
}
