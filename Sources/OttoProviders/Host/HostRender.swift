import Foundation
import Mustache
import OttoCore

/// Renders the configuration files host resources manage. Pure: the same attributes give the same bytes, so a
/// hash of the rendering is what plans compare against the file on the machine.
enum HostRender {
    private typealias N = AttributeName.NginxSite
    private typealias H = AttributeName.HAProxy
    private typealias S = AttributeName.Service
    static let header = "# Managed by otto. Changes made here are drift: otto puts this file back.\n"

    /// `/etc/nginx/sites-enabled/otto-NAME.conf` for a site.
    static func nginxPath(_ name: String) -> String { "/etc/nginx/sites-enabled/otto-\(name).conf" }
    /// haproxy's one configuration file.
    static let haproxyPath = "/etc/haproxy/haproxy.cfg"
    /// A unit's file.
    static func unitPath(_ name: String) -> String { "/etc/systemd/system/\(name)" }

    /// An nginx token: bare when it is safe, otherwise double-quoted with escapes.
    static func nginxToken(_ s: String) -> String {
        let safe = !s.isEmpty && s.unicodeScalars.allSatisfy { c in
            (c.value >= 0x30 && c.value <= 0x39) || (c.value >= 0x41 && c.value <= 0x5A) || (c.value >= 0x61 && c.value <= 0x7A)
                || "._-*~/:".unicodeScalars.contains(c)
        }
        if safe { return s }
        var out = "\""
        for c in s {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "$": out += "\\$"
            case "\n", "\r": out += " "
            default: out.append(c)
            }
        }
        return out + "\""
    }

    /// An nginx server block from `server_name`, `listen`, `root`, `directives`.
    static func nginx(_ a: [String: Value]) -> String? {
        guard let name = a[N.name]?.stringValue, let serverName = a[N.serverName]?.stringValue,
              let root = a[N.root]?.stringValue, let listen = a[N.listen]?.intValue else { return nil }
        var out = header + "# Site \(name).\nserver {\n"
        out += "    listen \(listen) default_server;\n"
        out += "    server_name " + serverName.split(whereSeparator: \.isWhitespace).map { nginxToken(String($0)) }.joined(separator: " ") + ";\n"
        out += "    root \(nginxToken(root));\n"
        out += "    index index.html;\n"
        out += "    location / {\n        try_files $uri $uri/ =404;\n    }\n"
        for d in a[N.directives]?.listValue ?? [] {
            guard let line = d.stringValue else { return nil }
            // Verbatim, one per line: nginx -t judges them.
            out += "    " + line.replacingOccurrences(of: "\n", with: " ") + "\n"
        }
        return out + "}\n"
    }

    /// The whole haproxy.cfg: a frontend, a backend of the named servers with health checks, a local stats page, and
    /// a frontend and backend per app (`apps`, see `haproxyApp`). The runtime state survives reloads: the admin
    /// socket hands the listeners to the new process (`expose-fd listeners`, for haproxy's master-worker mode, which
    /// Debian's unit starts with `-Ws`) and the state otto saves before each reload (`HAProxyRuntime.saveServerState`)
    /// is loaded back (`server-state-file`). `layout` says where those files are (tests use their own).
    static func haproxy(_ a: [String: Value], layout: HAProxyLayout = .machine) -> String? {
        guard let name = a[H.name]?.stringValue, let bind = a[H.bind]?.stringValue, let balance = a[H.balance]?.stringValue,
              let backend = a[H.backend]?.stringValue, let servers = a[H.servers]?.listValue else { return nil }
        var out = header + "global\n"
        if let log = layout.log { out += "    log \(log) local0\n" }
        if let chroot = layout.chroot { out += "    chroot \(chroot)\n" }
        out += "    stats socket \(layout.adminSocket) mode 660 level admin expose-fd listeners\n"
        if let user = layout.user { out += "    user \(user)\n    group \(user)\n" }
        out += "    server-state-file \(layout.serverStateFile)\n"
        out += """

            defaults
                log global
                mode http
                option httplog
                timeout connect 5s
                timeout client 30s
                timeout server 30s
                retries 3
                option redispatch
                option idle-close-on-response
                load-server-state-from-file global

            listen otto-stats
                bind \(layout.statsBind)
                stats enable
                stats uri /stats

            frontend \(name)
                bind \(bind)
                default_backend \(name)-\(backend)

            backend \(name)-\(backend)
                balance \(balance)

            """
        if let path = a[H.healthPath]?.stringValue {
            out += "    option httpchk GET \(path)\n"
            let interval = a[H.healthIntervalMS]?.intValue ?? 2000
            out += "    default-server inter \(interval)ms fall 2 rise 2\n"
        }
        for s in servers {
            guard let m = s.mapValue, let n = m[H.serverName]?.stringValue, let addr = m[H.serverAddress]?.stringValue,
                  let port = m[H.serverPort]?.intValue else { return nil }
            out += "    server \(n) \(addr):\(port) check\n"
        }
        for app in a[H.apps]?.listValue ?? [] {
            guard let section = haproxyApp(app) else { return nil }
            out += "\n" + section
        }
        return out
    }

    /// One app's `frontend app_NAME` (binding `bind`) and `backend app_NAME`: every slot in `slots` is a server with a
    /// health check (HTTP GET of `health_path` when set, every `health_interval_ms`). Both slots of every machine are
    /// listed whichever release is live, so a release never changes the file: traffic moves over the runtime API.
    /// Nil when a field is missing, not known yet, or not a plain haproxy word.
    static func haproxyApp(_ value: Value) -> String? {
        guard let app = value.mapValue, let name = app[H.appName]?.stringValue, isHAProxyWord(name),
              let bind = app[H.appBind]?.stringValue, isHAProxyWord(bind), let slots = app[H.appSlots]?.listValue else { return nil }
        let balance = app[H.appBalance]?.stringValue ?? "roundrobin"
        guard isHAProxyWord(balance) else { return nil }
        let proxy = AppSlot.proxyName(app: name)
        var out = "frontend \(proxy)\n    bind \(bind)\n    default_backend \(proxy)\n\n"
        // Each request is balanced on its own (the server side closes after each answer): once a slot drains, a
        // keep-alive client's next request goes to a ready slot, while requests in flight on the old one finish.
        out += "backend \(proxy)\n    balance \(balance)\n    option http-server-close\n"
        if let path = app[H.appHealthPath]?.stringValue {
            guard isHAProxyWord(path) else { return nil }
            out += "    option httpchk GET \(path)\n"
        }
        out += "    default-server inter \(app[H.appHealthIntervalMS]?.intValue ?? 1000)ms fall 2 rise 2\n"
        for slot in slots {
            guard let m = slot.mapValue, let n = m[H.serverName]?.stringValue, isHAProxyWord(n),
                  let addr = m[H.serverAddress]?.stringValue, isHAProxyWord(addr), let port = m[H.serverPort]?.intValue else { return nil }
            out += "    server \(n) \(addr):\(port) check\n"
        }
        return out
    }

    /// True when `s` can stand in haproxy.cfg as one word: not empty, no whitespace, quotes, `#` or backslashes.
    static func isHAProxyWord(_ s: String) -> Bool {
        !s.isEmpty && s.unicodeScalars.allSatisfy { $0.value > 0x20 && $0.value < 0x7F && !"\"'#\\".unicodeScalars.contains($0) }
    }

    /// Escapes text for a systemd unit value: `%` starts a specifier.
    static func systemdValue(_ s: String) -> String { s.replacingOccurrences(of: "%", with: "%%") }

    /// A service unit from `name`, `exec`, `restart`, `user`, `environment`.
    static func unit(_ a: [String: Value]) -> String? {
        guard let name = a[S.name]?.stringValue, let exec = a[S.exec]?.stringValue, let restart = a[S.restart]?.stringValue else { return nil }
        var out = header + "[Unit]\nDescription=\(systemdValue(name)) (managed by otto)\nAfter=network.target\n\n[Service]\n"
        out += "ExecStart=\(systemdValue(exec.replacingOccurrences(of: "\n", with: " ")))\n"
        out += "Restart=\(restart)\n"
        if let user = a[S.user]?.stringValue { out += "User=\(systemdValue(user))\n" }
        for (k, v) in (a[S.environment]?.mapValue ?? [:]).sorted(by: { $0.key < $1.key }) {
            guard let text = v.stringValue else { return nil }
            let escaped = (k + "=" + text).replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            out += "Environment=\"\(systemdValue(escaped))\"\n"
        }
        return out + "\n[Install]\nWantedBy=multi-user.target\n"
    }

    /// Renders a mustache template as plain text (no HTML escaping: `{{x}}` and `{{{x}}}` write the same) with
    /// `variables`; a name no variable has renders empty, as mustache does. Throws when the template does not parse.
    static func template(_ text: String, variables: [String: Value]) throws -> String {
        try MustacheTemplate(string: TemplateText.plain(text)).render(TemplateText.context(variables))
    }
}

/// How otto reads mustache templates: as plain text (OttoConfig parses them the same way at load time, `TemplateSyntax`).
enum TemplateText {
    /// The pragma that turns mustache's HTML escaping off; alone on its first line, it renders as nothing.
    static let pragma = "{{% CONTENT_TYPE: TEXT}}\n"

    /// `text` with the pragma in front (error line numbers from the parser are one more than the template's).
    static func plain(_ text: String) -> String { pragma + text }

    /// Variables as mustache sees them: maps, lists, strings, numbers and booleans; nulls and unknown values are absent.
    static func context(_ variables: [String: Value]) -> [String: Any] {
        variables.compactMapValues(mustacheValue)
    }

    static func mustacheValue(_ v: Value) -> Any? {
        switch v {
        case .string(let s): return s
        case .int(let i): return i
        case .double(let d): return d
        case .bool(let b): return b
        case .list(let l): return l.compactMap(mustacheValue)
        case .map(let m): return m.compactMapValues(mustacheValue)
        default: return nil
        }
    }
}
