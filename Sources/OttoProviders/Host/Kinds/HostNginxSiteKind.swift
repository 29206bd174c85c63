import Foundation
import OttoCore
import OttoSSH

/// `nginx_site`: a server block otto renders into sites-enabled, validated with `nginx -t` against a staging copy of
/// the whole /etc/nginx before it is swapped in; a change reloads nginx once per host.
struct HostNginxSiteKind: HostKind {
    private typealias N = AttributeName.NginxSite
    private typealias F = AttributeName.File
    let kind = "nginx_site"
    let schema = HostShared.schema("nginx_site", [
        .required(N.name, .string), .required(N.serverName, .string), .required(N.root, .string), .required(N.listen, .int),
        .optional(N.directives, .strings),
    ] + HostShared.rendered)
    let isRendered = true
    let handlerService: String? = "nginx"

    func derive(_ a: inout [String: Value], sources: HostSourceFiles) {
        a[F.path] = a[N.name]?.stringValue.map { .string(HostRender.nginxPath($0)) } ?? .unknown
    }

    func render(_ a: [String: Value]) -> String? { HostRender.nginx(a) }

    func probe(index: Int, _ a: [String: Value]) -> String { HostShared.probeFile(index, a) }

    func watched(_ a: [String: Value]) -> [String]? { HostShared.watchedFile(a) }

    func observe(_ a: inout [String: Value], requested: [String: Value], facts: HostProbe.Facts) -> Bool {
        HostShared.observeFile(&a, facts)
    }

    func converge(_ r: Resource, current: ObservedResource?, on host: HostTarget) async throws {
        let a = r.attributes
        let content = HostShared.content(a)
        try await validate(a, content: content, on: host)
        try await host.session.upload(content, to: a[F.path]?.stringValue ?? "", mode: 0o644)
    }

    /// Copies /etc/nginx into a staging directory, puts the new site there, and runs `nginx -t` on the whole tree.
    private func validate(_ a: [String: Value], content: [UInt8], on host: HostTarget) async throws {
        let path = a[F.path]?.stringValue ?? ""
        let stage = try await host.output("d=$(mktemp -d /tmp/otto-nginx.XXXXXX) && cp -a /etc/nginx/. \"$d/\" && echo \"$d\"")
        let staged = stage + "/" + String(path.dropFirst("/etc/nginx/".count))
        try await host.session.upload(content, to: staged, mode: 0o644)
        let s = ShellQuote.quote(stage)
        let check = try await host.session.exec("sed -i \"s#/etc/nginx/#\(stage)/#g\" \(s)/nginx.conf && nginx -t -q -c \(s)/nginx.conf; st=$?; rm -rf -- \(s); exit $st",
                                                timeout: .seconds(60))
        if check.status != 0 {
            let text = (check.stderrText + check.stdoutText).replacingOccurrences(of: stage + "/", with: "/etc/nginx/")
            throw OttoError("host.nginx", "\(host.conn.machine): nginx rejected the configuration; the running one is unchanged:\n"
                            + text.trimmingCharacters(in: .whitespacesAndNewlines))
        }
    }

    func delete(_ a: [String: Value], on host: HostTarget) async throws {
        try await host.run("rm -f -- \(a.shellQuoted(F.path)) && if systemctl is-active --quiet nginx; then systemctl reload nginx; fi")
    }
}
