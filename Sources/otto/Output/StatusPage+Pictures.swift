import Foundation
import OttoConfig
import OttoCore
import OttoEngine

extension StatusPageModel {
    /// A promotion pipeline as the status page draws it: each stage with the build it runs (its newest deployment
    /// that completed) and its newest deployment's state; each later stage with its gates as the build waiting in the
    /// stage before stands against them now.
    struct Pipeline: Sendable, Hashable {
        struct Gate: Sendable, Hashable {
            var gate: PromotionGate
            /// Passed now (nil: only known at promotion, such as the error budget, read from haproxy then).
            var passed: Bool?
            /// Why it refuses, in words (empty when it passes).
            var reason: String
        }

        struct Stage: Sendable, Hashable {
            var environment: String
            /// The build running there: the newest deployment that completed.
            var running: Deployment?
            /// The newest deployment, whatever its state.
            var latest: Deployment?
            /// The gates into this stage (none for the first).
            var gates: [Gate]
        }

        var app: String
        var stages: [Stage]
    }

    /// One environment's topology: its domains, its load balancers and the machines behind them, with each server's
    /// health and the app releases serving on it.
    struct Topology: Sendable, Hashable {
        struct Server: Sendable, Hashable {
            /// The machine (haproxy's server name without the app slot suffix).
            var machine: String
            /// True when haproxy sends it traffic (any of its slots is UP).
            var up: Bool
            /// `hello 1.4.0` for each app serving there.
            var releases: [String]
        }

        var environment: String
        var domains: [String]
        var balancers: [String]
        var servers: [Server]

        /// From the page's rows (zones), haproxy's backends and the apps' current releases: app slots (`NAME_a`,
        /// `NAME_b`) are folded into their machine.
        init(environment: String, rows: [ResourceStatus], backends: [Backend], apps: [App]) {
            self.environment = environment
            domains = rows.filter { $0.address.hasPrefix("dns_zone.") }.map { String($0.address.dropFirst("dns_zone.".count)) }.sorted()
            balancers = Array(Set(backends.map(\.loadBalancer))).sorted()
            var byMachine: [String: (up: Bool, app: Bool)] = [:]
            for b in backends {
                var machine = b.server, isApp = false
                if machine.hasSuffix("_a") || machine.hasSuffix("_b") { machine.removeLast(2); isApp = true }
                let seen = byMachine[machine] ?? (false, false)
                byMachine[machine] = (seen.up || b.health == "UP", seen.app || isApp)
            }
            let serving = apps.compactMap { a in a.current.map { "\(a.app) \($0.version)" } }
            servers = byMachine.keys.sorted().map { m in Server(machine: m, up: byMachine[m]!.up, releases: byMachine[m]!.app ? serving : []) }
        }

        var isEmpty: Bool { balancers.isEmpty && servers.isEmpty }
    }
}

extension StatusPageModel.Pipeline {
    /// The project's pipelines as they stand in `ledger` now.
    static func all(in project: Project, ledger: any DeployLedger, now: Date = Date()) async -> [StatusPageModel.Pipeline] {
        var out: [StatusPageModel.Pipeline] = []
        for spec in project.pipelines.values.sorted(by: { $0.app < $1.app }) {
            var stages: [Stage] = []
            for (i, stage) in spec.stages.enumerated() {
                let recent = (try? await ledger.deployments(DeploymentQuery(app: spec.app, environment: stage.environment, limit: 50))) ?? []
                let running = recent.first { $0.state == .completed }
                var gates: [Gate] = []
                if i > 0 {
                    let from = spec.stages[i - 1].environment
                    let candidate = (try? await ledger.deployments(DeploymentQuery(app: spec.app, environment: from, limit: 1)))?.first
                    let approvals = stage.approval ? ((try? await ledger.approvals(app: spec.app, environment: stage.environment, limit: 1000)) ?? []) : []
                    let refusals = PromotionGates.evaluate(.init(stage: stage, from: from, candidate: candidate, version: nil, approvals: approvals,
                                                                 traffic: .unavailable("read from haproxy at promotion"), now: now))
                    gates = PromotionGates.gates(of: stage).map { gate in
                        let refused = refusals.filter { $0.gate == gate }
                        if gate == .errorBudget, refused.allSatisfy({ if case .errorBudgetUnmeasured = $0 { return true } else { return false } }) {
                            return Gate(gate: gate, passed: nil, reason: "read from haproxy at promotion")
                        }
                        return Gate(gate: gate, passed: refused.isEmpty, reason: refused.map(\.description).joined(separator: "; "))
                    }
                }
                stages.append(Stage(environment: stage.environment, running: running, latest: recent.first, gates: gates))
            }
            out.append(StatusPageModel.Pipeline(app: spec.app, stages: stages))
        }
        return out
    }
}

/// The status page's pictures: inline SVG, drawn on the server (no script), text in the page's font so that it reads
/// like the rest of the page, and every label also in a `<title>` for a screen reader or a hover.
extension StatusPage {
    static let svgStyle = """
        svg.picture{max-width:100%;height:auto;font:13px system-ui,-apple-system,Segoe UI,Roboto,sans-serif}
        svg.picture .box{fill:#f6f8fa;stroke:#8c959f}svg.picture .up{stroke:var(--ok);stroke-width:2}
        svg.picture .down{stroke:var(--bad);stroke-width:2}svg.picture .edge{stroke:#8c959f;stroke-width:1.5;fill:none;marker-end:url(#arrow)}
        svg.picture text{fill:currentColor}svg.picture .small{font-size:11px;fill:#6e7781}
        svg.picture .pass{fill:var(--ok)}svg.picture .fail{fill:var(--bad)}svg.picture .later{fill:var(--warn)}
        @media (prefers-color-scheme:dark){svg.picture .box{fill:#161b22}}
        .narrow{display:none}@media (max-width:600px){.wide{display:none}.narrow{display:block}}
        """

    private static func arrowDefs(id: String = "arrow") -> String {
        "<defs><marker id=\"\(id)\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0,0L10,5L0,10z\" fill=\"#8c959f\"/></marker></defs>"
    }

    /// DNS → load balancers → machines, one column each, with an edge from every balancer to every machine.
    static func topologySVG(_ t: StatusPageModel.Topology) -> String {
        guard !t.isEmpty else { return "" }
        let boxW = 200, boxH = 46, gapY = 14, colX = [10, 290, 570]
        let rows = max(1, t.domains.count, t.balancers.count, t.servers.count)
        let height = 40 + rows * (boxH + gapY)
        func y(_ i: Int, of n: Int) -> Int { 30 + i * (boxH + gapY) + (rows - n) * (boxH + gapY) / 2 }
        var svg = "<svg class=\"picture\" id=\"topology\" role=\"img\" aria-labelledby=\"topology-title\" viewBox=\"0 0 790 \(height)\" width=\"790\" height=\"\(height)\" xmlns=\"http://www.w3.org/2000/svg\">"
        svg += "<title id=\"topology-title\">\(esc(t.environment)): DNS, load balancers and machines</title>" + arrowDefs()
        for (x, title) in zip(colX, ["DNS", "Load balancer", "Machines"]) { svg += "<text x=\"\(x)\" y=\"18\" class=\"small\">\(title)</text>" }
        let domains = t.domains.isEmpty ? ["(no zone managed)"] : t.domains
        for (i, d) in domains.enumerated() {
            svg += "<g class=\"node dns\"><title>zone \(esc(d))</title><rect class=\"box\" x=\"\(colX[0])\" y=\"\(y(i, of: domains.count))\" width=\"\(boxW)\" height=\"\(boxH)\" rx=\"6\"/>"
            svg += "<text x=\"\(colX[0] + 10)\" y=\"\(y(i, of: domains.count) + 28)\">\(esc(d))</text></g>"
            for j in t.balancers.indices {
                svg += "<path class=\"edge\" d=\"M\(colX[0] + boxW),\(y(i, of: domains.count) + boxH / 2) L\(colX[1] - 4),\(y(j, of: t.balancers.count) + boxH / 2)\"/>"
            }
        }
        for (j, b) in t.balancers.enumerated() {
            let top = y(j, of: t.balancers.count)
            svg += "<g class=\"node lb\"><title>haproxy on \(esc(b))</title><rect class=\"box\" x=\"\(colX[1])\" y=\"\(top)\" width=\"\(boxW)\" height=\"\(boxH)\" rx=\"6\"/>"
            svg += "<text x=\"\(colX[1] + 10)\" y=\"\(top + 20)\">haproxy</text><text x=\"\(colX[1] + 10)\" y=\"\(top + 36)\" class=\"small\">\(esc(b))</text></g>"
            for k in t.servers.indices {
                svg += "<path class=\"edge\" d=\"M\(colX[1] + boxW),\(top + boxH / 2) L\(colX[2] - 4),\(y(k, of: t.servers.count) + boxH / 2)\"/>"
            }
        }
        for (k, s) in t.servers.enumerated() {
            let top = y(k, of: t.servers.count)
            let label = s.releases.isEmpty ? (s.up ? "UP" : "DOWN") : "\(s.releases.joined(separator: ", ")) · \(s.up ? "UP" : "DOWN")"
            svg += "<g class=\"node machine\"><title>\(esc(s.machine)): \(esc(label))</title><rect class=\"box \(s.up ? "up" : "down")\" x=\"\(colX[2])\" y=\"\(top)\" width=\"\(boxW)\" height=\"\(boxH)\" rx=\"6\"/>"
            svg += "<text x=\"\(colX[2] + 10)\" y=\"\(top + 20)\">\(esc(s.machine))</text><text x=\"\(colX[2] + 10)\" y=\"\(top + 36)\" class=\"small\">\(esc(label))</text></g>"
        }
        return svg + "</svg>"
    }

    /// The same for a phone: the tiers one under the other (DNS, load balancers, machines), one arrow between tiers.
    static func narrowTopologySVG(_ t: StatusPageModel.Topology) -> String {
        guard !t.isEmpty else { return "" }
        let boxW = 320, boxH = 40, gap = 8, tierGap = 34
        let tiers: [(String, [(label: String, detail: String, cls: String)])] = [
            ("DNS", (t.domains.isEmpty ? ["(no zone managed)"] : t.domains).map { ($0, "", "") }),
            ("Load balancer", t.balancers.map { ("haproxy", $0, "") }),
            ("Machines", t.servers.map { s in
                (s.machine, s.releases.isEmpty ? (s.up ? "UP" : "DOWN") : "\(s.releases.joined(separator: ", ")) · \(s.up ? "UP" : "DOWN")", s.up ? "up" : "down")
            }),
        ]
        var body = "", y = 8
        for (n, (title, nodes)) in tiers.enumerated() {
            body += "<text x=\"10\" y=\"\(y + 10)\" class=\"small\">\(title)</text>"
            y += 16
            for node in nodes {
                body += "<g class=\"node\"><title>\(esc(node.label))\(node.detail.isEmpty ? "" : ": " + esc(node.detail))</title>"
                body += "<rect class=\"box \(node.cls)\" x=\"10\" y=\"\(y)\" width=\"\(boxW)\" height=\"\(boxH)\" rx=\"6\"/>"
                body += "<text x=\"20\" y=\"\(y + (node.detail.isEmpty ? 25 : 17))\">\(esc(node.label))</text>"
                if !node.detail.isEmpty { body += "<text x=\"20\" y=\"\(y + 33)\" class=\"small\">\(esc(node.detail))</text>" }
                body += "</g>"
                y += boxH + gap
            }
            if n < tiers.count - 1 {
                body += "<path class=\"edge\" style=\"marker-end:url(#arrow-narrow)\" d=\"M170,\(y - gap + 2) L170,\(y + tierGap - 22)\"/>"
                y += tierGap - 16
            }
        }
        let height = y + 4
        return "<svg class=\"picture\" id=\"topology-narrow\" role=\"img\" aria-label=\"\(esc(t.environment)): DNS, load balancers and machines\" "
            + "viewBox=\"0 0 340 \(height)\" width=\"340\" height=\"\(height)\" xmlns=\"http://www.w3.org/2000/svg\">"
            + arrowDefs(id: "arrow-narrow") + body + "</svg>"
    }

    /// The stages left to right, each with the build it runs; under each arrow the gates into the next stage.
    static func pipelineSVG(_ p: StatusPageModel.Pipeline) -> String {
        let boxW = 190, boxH = 64, step = 290
        let gateLines = p.stages.map(\.gates.count).max() ?? 0
        let width = 20 + max(1, p.stages.count) * step - (step - boxW), height = 40 + boxH + 22 + gateLines * 18
        var svg = "<svg class=\"picture pipeline\" id=\"pipeline-\(esc(p.app))\" role=\"img\" aria-labelledby=\"pipeline-\(esc(p.app))-title\" viewBox=\"0 0 \(width) \(height)\" width=\"\(width)\" height=\"\(height)\" xmlns=\"http://www.w3.org/2000/svg\">"
        let marker = "arrow-pipeline-\(esc(p.app))"
        svg += "<title id=\"pipeline-\(esc(p.app))-title\">pipeline of \(esc(p.app))</title>" + arrowDefs(id: marker)
        for (i, s) in p.stages.enumerated() {
            let x = 10 + i * step, top = 20
            let build = s.running.map { "\($0.version) · \($0.digest.prefix(12))" } ?? "nothing yet"
            let latest = s.latest.map { l in l.state == .completed ? "" : "newest: \(l.version) \(l.state.rawValue)" } ?? ""
            let ok = s.latest.map { $0.state == .completed } ?? false
            svg += "<g class=\"stage\" data-environment=\"\(esc(s.environment))\"><title>\(esc(s.environment)): \(esc(build))\(latest.isEmpty ? "" : "; " + esc(latest))</title>"
            svg += "<rect class=\"box \(ok ? "up" : (s.latest == nil ? "" : "down"))\" x=\"\(x)\" y=\"\(top)\" width=\"\(boxW)\" height=\"\(boxH)\" rx=\"8\"/>"
            svg += "<text x=\"\(x + 10)\" y=\"\(top + 20)\" font-weight=\"600\">\(esc(s.environment))</text>"
            svg += "<text x=\"\(x + 10)\" y=\"\(top + 38)\">\(esc(build))</text>"
            if !latest.isEmpty { svg += "<text x=\"\(x + 10)\" y=\"\(top + 55)\" class=\"small\">\(esc(latest))</text>" }
            svg += "</g>"
            guard i > 0 else { continue }
            let from = 10 + (i - 1) * step + boxW
            svg += "<path class=\"edge\" style=\"marker-end:url(#\(marker))\" d=\"M\(from + 4),\(top + boxH / 2) L\(x - 6),\(top + boxH / 2)\"/>"
            for (g, gate) in s.gates.enumerated() {
                let mark = gate.passed.map { $0 ? "✓" : "✗" } ?? "…"
                let cls = gate.passed.map { $0 ? "pass" : "fail" } ?? "later"
                let gy = top + boxH + 20 + g * 18
                svg += "<g class=\"gate \(cls)\" data-gate=\"\(gate.gate.rawValue)\"><title>\(esc(gate.gate.rawValue)): \(esc(gate.reason.isEmpty ? "passed" : gate.reason))</title>"
                svg += "<text x=\"\(from + 8)\" y=\"\(gy)\"><tspan class=\"\(cls)\">\(mark)</tspan> \(esc(gate.gate.rawValue.replacingOccurrences(of: "_", with: " ")))</text></g>"
            }
        }
        return svg + "</svg>"
    }

    /// The pictures section: this environment's topology, then each pipeline.
    static func picturesSection(_ m: StatusPageModel) -> String {
        let topology = topologySVG(m.topology)
        guard !topology.isEmpty || !m.pipelines.isEmpty else { return "" }
        var html = "<section id=\"pictures\">"
        if !topology.isEmpty {
            html += "<h2>Topology · \(esc(m.topology.environment))</h2><div class=\"scroll wide\">\(topology)</div>"
            html += "<div class=\"narrow\">\(narrowTopologySVG(m.topology))</div>"
        }
        for p in m.pipelines {
            html += "<h2>Pipeline · \(esc(p.app))</h2><div class=\"scroll\">\(pipelineSVG(p))</div>"
        }
        return html + "</section>"
    }
}
