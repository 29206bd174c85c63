import OttoCore

/// One row of `show stat`: a frontend, a backend or a server, with the counters otto watches after a switch.
public struct HAProxyStat: Sendable, Hashable {
    /// What the row counts (`type`).
    public enum RowType: Int, Sendable, Hashable {
        /// A frontend (`svname` FRONTEND).
        case frontend = 0
        /// A backend as a whole (`svname` BACKEND).
        case backend = 1
        /// One server of a backend.
        case server = 2
        /// A listening socket.
        case listener = 3
    }

    /// The frontend or backend (`pxname`).
    public var proxy: String
    /// The server's name, or `FRONTEND` / `BACKEND` (`svname`).
    public var name: String
    /// What the row counts.
    public var type: RowType
    /// Its status (`status`).
    public var status: HAProxyStatus
    /// Sessions open now (`scur`).
    public var currentSessions: Int
    /// Sessions since start (`stot`).
    public var totalSessions: Int
    /// HTTP responses with a 2xx status (`hrsp_2xx`).
    public var responses2xx: Int
    /// HTTP responses with a 5xx status (`hrsp_5xx`), haproxy's own 502/503/504 included.
    public var responses5xx: Int
    /// HTTP responses of every class (`hrsp_1xx` to `hrsp_5xx` and `hrsp_other`).
    public var responses: Int = 0
    /// Connections to the server that failed (`econ`).
    public var connectionErrors: Int
    /// Responses that failed: aborted or unreadable (`eresp`).
    public var responseErrors: Int
    /// The last health check's outcome, e.g. `L7OK`, `L4CON` (`check_status`; nil without checks).
    public var checkStatus: String?

    /// Creates a row.
    public init(proxy: String, name: String, type: RowType, status: HAProxyStatus, currentSessions: Int, totalSessions: Int,
                responses2xx: Int, responses5xx: Int, connectionErrors: Int, responseErrors: Int, checkStatus: String?) {
        self.proxy = proxy
        self.name = name
        self.type = type
        self.status = status
        self.currentSessions = currentSessions
        self.totalSessions = totalSessions
        self.responses2xx = responses2xx
        self.responses5xx = responses5xx
        self.connectionErrors = connectionErrors
        self.responseErrors = responseErrors
        self.checkStatus = checkStatus
    }

    /// Parses `show stat` (CSV with a `# ` header naming the columns). Columns are found by name; an empty counter
    /// (haproxy leaves those that do not apply to a row empty) is 0.
    public static func parse(_ text: String) throws -> [HAProxyStat] {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        guard let header = lines.first, header.hasPrefix("# ") else {
            throw OttoError("haproxy.runtime.parse", "`show stat` did not answer with its CSV header", causeText: String(text.prefix(500)))
        }
        let names = header.dropFirst(2).split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        let index = Dictionary(names.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        func column(_ name: String) throws -> Int {
            guard let i = index[name] else { throw OttoError("haproxy.runtime.parse", "`show stat` has no column \(name)", causeText: header) }
            return i
        }
        let px = try column("pxname"), sv = try column("svname"), type = try column("type"), status = try column("status")
        let scur = try column("scur"), stot = try column("stot"), h2 = try column("hrsp_2xx"), h5 = try column("hrsp_5xx")
        let econ = try column("econ"), eresp = try column("eresp"), check = try column("check_status")
        let responseColumns = ["hrsp_1xx", "hrsp_2xx", "hrsp_3xx", "hrsp_4xx", "hrsp_5xx", "hrsp_other"].compactMap { index[$0] }
        var rows: [HAProxyStat] = []
        for line in lines.dropFirst() where !line.hasPrefix("#") {
            let f = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            guard f.count > max(px, sv, type, status, scur, stot, h2, h5, econ, eresp, check),
                  let t = Int(f[type]).flatMap(RowType.init(rawValue:)) else {
                throw OttoError("haproxy.runtime.parse", "`show stat` has a row otto cannot read", causeText: line)
            }
            func count(_ i: Int) throws -> Int {
                if f[i].isEmpty { return 0 }
                guard let n = Int(f[i]) else {
                    throw OttoError("haproxy.runtime.parse", "`show stat` column \(names[i]) is not a number: \(f[i])", causeText: line)
                }
                return n
            }
            var row = HAProxyStat(proxy: f[px], name: f[sv], type: t, status: HAProxyStatus(f[status]),
                                  currentSessions: try count(scur), totalSessions: try count(stot),
                                  responses2xx: try count(h2), responses5xx: try count(h5),
                                  connectionErrors: try count(econ), responseErrors: try count(eresp),
                                  checkStatus: f[check].isEmpty ? nil : f[check])
            row.responses = try responseColumns.filter { $0 < f.count }.reduce(0) { $0 + (try count($1)) }
            rows.append(row)
        }
        return rows
    }
}

/// The `status` column of `show stat`.
public enum HAProxyStatus: Sendable, Hashable {
    /// Up (also `UP 1/2`: up, with a failed check on its way down).
    case up
    /// Down (also `DOWN 1/2`: down, with a passed check on its way up).
    case down
    /// In maintenance (`MAINT`, `MAINT (via b/s)`, `MAINT (resolution)`).
    case maint
    /// Draining (`DRAIN`, `DRAIN (agent)`).
    case drain
    /// Up but refusing new load (`NOLB`).
    case noLB
    /// A server without health checks (`no check`).
    case noCheck
    /// A frontend or listener accepting connections (`OPEN`).
    case open
    /// Anything else haproxy writes (`FULL`, `STOP`, ...), as written.
    case other(String)

    /// The status `text` names.
    public init(_ text: String) {
        let word = text.split(separator: " ").first.map(String.init) ?? ""
        switch word {
        case "UP": self = .up
        case "DOWN": self = .down
        case "MAINT": self = .maint
        case "DRAIN": self = .drain
        case "NOLB": self = .noLB
        case "OPEN": self = .open
        case "no" where text == "no check": self = .noCheck
        default: self = .other(text)
        }
    }
}
