import Foundation
import OttoCore
import OttoEngine
import OttoPlan
import OttoState

/// What the status page at `/` shows: the last run's view of every resource, load balancer backends, the last walk of
/// each site with its broken links, and the recent scheduled runs with what they found and corrected.
struct StatusPageModel: Sendable {
    /// One load balancer backend and haproxy's view of its health.
    struct Backend: Sendable, Hashable {
        var loadBalancer: String
        var server: String
        var health: String
    }

    /// A broken link and where it was found.
    struct BrokenLink: Sendable, Hashable {
        var url: String
        var problem: String
        var foundOn: [String]
    }

    /// The last walk of one site.
    struct Walk: Sendable, Hashable {
        var site: String
        var finished: Date
        var pages: Int
        var seconds: Double
        var broken: [BrokenLink]
    }

    /// One app of a site: the release serving (the newest that succeeded), the one that served before it, and the
    /// newest release of any result (a deploy in progress, or one that failed or was rolled back, shows there).
    struct App: Sendable, Hashable {
        var site: String
        var app: String
        var current: ReleaseRecord?
        var previous: ReleaseRecord?
        var latest: ReleaseRecord?
    }

    var project: String
    var generated: Date
    var interval: Duration
    var rows: [ResourceStatus]
    var backends: [Backend]
    var walks: [Walk]
    var runs: [DriftRun]
    var apps: [App] = []
    /// The environment served (`default` without environments).
    var environment: String = "default"
    /// The project's promotion pipelines.
    var pipelines: [Pipeline] = []
    /// Who deployed, promoted and approved what here, and when: this environment's newest deployments, the
    /// promotions into it and the approvals for it.
    var audit = Audit()
    /// Each site's schedule when several replicas share the state (PostgreSQL): which replica ran it last, when it is due.
    var sites: [SiteSchedule] = []
    /// This replica (`HOST/PID`), when the state is shared.
    var replica: String?

    struct Audit: Sendable, Hashable {
        var deployments: [Deployment] = []
        var promotions: [Promotion] = []
        var approvals: [Approval] = []
    }

    /// This environment's topology, from the rows, backends and apps.
    var topology: Topology { Topology(environment: environment, rows: rows, backends: backends, apps: apps) }
}

/// Renders the status page: plain HTML and CSS, no script, readable on a phone and a desktop, refreshing itself.
enum StatusPage {
    static func render(_ m: StatusPageModel) -> String {
        let inSync = m.rows.filter { $0.status == "ok" }.count
        let problems = m.rows.filter { !["ok", "unmanaged"].contains($0.status) }.count
        let last = m.runs.first
        var html = """
            <!doctype html>
            <html lang="en"><head><meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta http-equiv="refresh" content="30">
            <title>otto · \(esc(m.project))</title>
            <style>\(css)\(svgStyle)</style></head><body>
            <header><h1>otto <span class="muted">\(esc(m.project))</span></h1>
            <p id="summary" class="\(problems == 0 ? "good" : "bad")">\(inSync) of \(m.rows.count) resources in sync\(problems > 0 ? " · \(problems) need attention" : "")</p>
            <p class="muted">Page made \(esc(time(m.generated))) · scheduled runs every \(esc(duration(m.interval)))\(last.map { " · last run \(esc(time($0.started))): \(esc($0.outcome.rawValue))" } ?? " · no run yet")</p>
            </header><main>
            """
        html += picturesSection(m)
        html += section("machines", "Machines", m.rows.filter { $0.address.hasPrefix("machine.") })
        html += section("services", "Services", m.rows.filter { $0.address.hasPrefix("service.") || $0.address.hasPrefix("unit.") })
        if !m.backends.isEmpty {
            html += "<section id=\"backends\"><h2>Load balancer backends</h2><div class=\"scroll\"><table><tr><th>Load balancer</th><th>Server</th><th>Health</th></tr>"
            for b in m.backends {
                html += "<tr><td>\(esc(b.loadBalancer))</td><td>\(esc(b.server))</td><td><span class=\"badge \(b.health == "UP" ? "ok" : "bad")\">\(esc(b.health))</span></td></tr>"
            }
            html += "</table></div></section>"
        }
        html += appsSection(m.apps)
        html += auditSection(m.audit)
        html += section("dns", "DNS", m.rows.filter { $0.address.hasPrefix("dns_zone.") || $0.address.hasPrefix("dns_record.") })
        html += walksSection(m.walks)
        html += sitesSection(m.sites, replica: m.replica)
        html += runsSection(m.runs)
        let other = m.rows.filter { r in !["machine.", "service.", "unit.", "dns_zone.", "dns_record."].contains { r.address.hasPrefix($0) } }
        html += section("resources", "Other resources", other)
        html += "</main></body></html>\n"
        return html
    }

    private static func section(_ id: String, _ title: String, _ rows: [ResourceStatus]) -> String {
        guard !rows.isEmpty else { return "" }
        var html = "<section id=\"\(id)\"><h2>\(esc(title))</h2><div class=\"scroll\"><table><tr><th>Resource</th><th>Status</th><th>Detail</th></tr>"
        for r in rows {
            html += "<tr><td class=\"addr\">\(esc(r.address))</td><td><span class=\"badge \(badge(r.status))\">\(esc(r.status))</span></td><td>\(esc(r.detail))</td></tr>"
        }
        return html + "</table></div></section>"
    }

    /// Each app's current release (the newest that succeeded), the one before it and the newest of any result, with
    /// version, number, result and start.
    static func appsSection(_ apps: [StatusPageModel.App]) -> String {
        guard !apps.isEmpty else { return "" }
        var html = "<section id=\"apps\"><h2>Apps</h2><div class=\"scroll\"><table><tr><th>App</th><th>Current release</th><th>Previous release</th><th>Latest release</th></tr>"
        func cell(_ r: ReleaseRecord?) -> String {
            guard let r else { return "<td class=\"muted\">none</td>" }
            let badge = r.result == .succeeded ? "ok" : (r.result == .started ? "warn" : "bad")
            return "<td>\(esc(r.version)) <span class=\"muted\">#\(r.number)</span> <span class=\"badge \(badge)\">\(esc(r.result.rawValue))</span>"
                + "<br><span class=\"muted\">\(esc(time(r.started)))</span></td>"
        }
        for a in apps {
            html += "<tr><td class=\"addr\">\(esc(a.site))/\(esc(a.app))</td>\(cell(a.current))\(cell(a.previous))\(cell(a.latest))</tr>"
        }
        return html + "</table></div></section>"
    }

    /// The deployment ledger's audit for this environment: deployments, promotions into it, approvals for it.
    static func auditSection(_ a: StatusPageModel.Audit) -> String {
        guard !a.deployments.isEmpty || !a.promotions.isEmpty || !a.approvals.isEmpty else { return "" }
        var html = "<section id=\"audit\"><h2>Deployments, promotions and approvals</h2><div class=\"scroll\"><table>"
        html += "<tr><th>When</th><th>What</th><th>Who</th><th>How</th></tr>"
        var rows: [(Date, String)] = []
        for d in a.deployments {
            let badge = d.state == .completed ? "ok" : (d.state == .failed ? "bad" : "warn")
            rows.append((d.createdAt, "<td>deployment \(d.id): \(esc(d.app)) \(esc(d.version)) <span class=\"muted addr\">\(esc(String(d.digest.prefix(12))))</span></td>"
                         + "<td>\(esc(d.createdBy))</td><td><span class=\"badge \(badge)\">\(d.state.rawValue)</span> <span class=\"muted\">\(esc(d.reason))</span></td>"))
        }
        for p in a.promotions {
            rows.append((p.at, "<td>promotion \(p.id): \(esc(p.app)) \(esc(p.version)) from \(esc(p.from)) to \(esc(p.to))</td><td>\(esc(p.by))</td>"
                         + "<td><span class=\"muted\">gates: \(esc(p.gates.map(\.rawValue).joined(separator: ", ")))</span></td>"))
        }
        for ap in a.approvals {
            rows.append((ap.at, "<td>approval \(ap.id): \(esc(ap.app)) \(esc(ap.version)) for \(esc(ap.environment))</td><td>\(esc(ap.by))</td>"
                         + "<td><span class=\"muted\">\(esc(ap.note))</span></td>"))
        }
        for (at, cells) in rows.sorted(by: { $0.0 > $1.0 }) { html += "<tr><td>\(esc(time(at)))</td>\(cells)</tr>" }
        return html + "</table></div></section>"
    }

    private static func walksSection(_ walks: [StatusPageModel.Walk]) -> String {
        guard !walks.isEmpty else { return "" }
        var html = "<section id=\"walks\"><h2>Site walks</h2>"
        for w in walks {
            html += "<div class=\"walk\"><h3>\(esc(w.site)) <span class=\"badge \(w.broken.isEmpty ? "ok" : "bad")\">\(w.broken.isEmpty ? "no broken links" : "\(w.broken.count) broken")</span></h3>"
            html += "<p class=\"muted\">\(w.pages) pages in \(String(format: "%.1f", w.seconds)) s, \(esc(time(w.finished)))</p>"
            if !w.broken.isEmpty {
                html += "<div class=\"scroll\"><table><tr><th>Broken link</th><th>Problem</th><th>Found on</th></tr>"
                for b in w.broken {
                    html += "<tr><td class=\"addr\">\(esc(b.url))</td><td>\(esc(b.problem))</td><td>\(b.foundOn.map(esc).joined(separator: "<br>"))</td></tr>"
                }
                html += "</table></div>"
            }
            html += "</div>"
        }
        return html + "</section>"
    }

    private static func sitesSection(_ sites: [SiteSchedule], replica: String?) -> String {
        guard let replica else { return "" }
        var html = "<section id=\"sites\"><h2>Sites and replicas</h2><p class=\"muted\">This page comes from replica \(esc(replica)).</p>"
        html += "<div class=\"scroll\"><table><tr><th>Site</th><th>Last run by</th><th>Last run</th><th>Next due</th><th>Held by</th></tr>"
        for s in sites {
            let outcome = s.lastOutcome.map { "<span class=\"badge \($0 == "ok" ? "ok" : "bad")\">\(esc($0))</span> " } ?? ""
            html += "<tr><td>\(esc(s.site))</td><td>\(esc(s.lastReplica ?? "none yet"))</td>"
            html += "<td>\(outcome)\(s.lastRun.map { esc(time($0)) } ?? "")\(s.failures > 1 ? " <span class=\"muted\">(\(s.failures) failures in a row)</span>" : "")</td>"
            html += "<td>\(s.nextDue.map { esc(time($0)) } ?? "now")</td><td>\(esc(s.heldBy ?? ""))</td></tr>"
        }
        return html + "</table></div></section>"
    }

    private static func runsSection(_ runs: [DriftRun]) -> String {
        guard !runs.isEmpty else { return "" }
        var html = "<section id=\"runs\"><h2>Recent runs and drift</h2><div class=\"scroll\"><table><tr><th>Started</th><th>Outcome</th><th>Summary</th><th>Drift</th></tr>"
        for run in runs.prefix(20) {
            let drift = run.items.filter(\.isDrift).map { item -> String in
                let what = item.corrected ? "corrected" : (item.policy == .report ? "reported" : (item.error == nil ? "pending" : "failed"))
                return "<span class=\"addr\">\(esc(item.address.description))</span> <span class=\"badge \(what == "corrected" ? "ok" : (what == "reported" ? "warn" : "bad"))\">\(what)</span><br><span class=\"muted\">\(esc(item.reason.description))</span>"
            }.joined(separator: "<br>")
            html += "<tr><td>\(esc(time(run.started)))\(run.site.map { "<br><span class=\"muted\">site \(esc($0))</span>" } ?? "")</td><td><span class=\"badge \(run.outcome == .ok ? "ok" : (run.outcome == .busy ? "warn" : "bad"))\">\(run.outcome.rawValue)</span></td>"
            html += "<td>\(esc(run.summary))\(run.outcome == .failed ? "<br><span class=\"muted\">\(esc(run.message ?? ""))</span>" : "")</td><td>\(drift.isEmpty ? "none" : drift)</td></tr>"
        }
        return html + "</table></div></section>"
    }

    private static func badge(_ status: String) -> String {
        switch status {
        case "ok": return "ok"
        case "unmanaged", "changed", "not created": return "warn"
        default: return "bad"
        }
    }

    /// HTML-escapes text (element content and attribute values).
    static func esc(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.count)
        for ch in text {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(ch)
            }
        }
        return out
    }

    /// `2026-12-03 10:00:00 UTC`.
    static func time(_ date: Date) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyy-MM-dd HH:mm:ss 'UTC'"
        return f.string(from: date)
    }

    private static func duration(_ d: Duration) -> String {
        let s = d.components.seconds
        if s % 3600 == 0 && s >= 3600 { return "\(s / 3600)h" }
        if s % 60 == 0 && s >= 60 { return "\(s / 60)m" }
        return "\(s)s"
    }

    private static let css = """
        :root{color-scheme:light dark;--ok:#1a7f37;--warn:#9a6700;--bad:#cf222e;--line:#d0d7de88}
        body{font:15px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0 auto;max-width:1100px;padding:12px 16px}
        h1{font-size:1.4em;margin:.3em 0}h2{font-size:1.15em;margin:1.4em 0 .4em}h3{font-size:1em;margin:.8em 0 .2em}
        .muted{color:#6e7781;font-weight:normal}.good{color:var(--ok);font-weight:600}.bad{color:var(--bad);font-weight:600}
        .scroll{overflow-x:auto;-webkit-overflow-scrolling:touch}
        table{border-collapse:collapse;width:100%;min-width:420px}th,td{text-align:left;padding:5px 8px;border-bottom:1px solid var(--line);vertical-align:top}
        th{font-weight:600;font-size:.9em}td.addr,.addr{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:.9em;word-break:break-all}
        .badge{display:inline-block;padding:0 .5em;border-radius:1em;font-size:.85em;font-weight:600;color:#fff;background:#6e7781;white-space:nowrap}
        .badge.ok{background:var(--ok)}.badge.warn{background:var(--warn)}.badge.bad{background:var(--bad)}
        @media (max-width:600px){body{font-size:14px;padding:8px}th,td{padding:4px 5px}}
        """
}
