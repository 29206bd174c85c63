import Foundation
import OttoCore

/// One server of `show servers state`: haproxy's own record of each server, the one a reload reads back from the
/// server-state file.
public struct HAProxyServerState: Sendable, Hashable {
    /// The backend (`be_name`).
    public var backend: String
    /// The server (`srv_name`).
    public var server: String
    /// Its address (`srv_addr`).
    public var address: String
    /// Its port (`srv_port`).
    public var port: Int
    /// What otto (or the configuration) set: ready, drain or maint (`srv_admin_state`).
    public var adminState: HAProxyAdminState
    /// haproxy's raw `srv_admin_state` bits (0x01 forced maint, 0x08 forced drain, ...).
    public var adminBits: Int
    /// What its health checks say (`srv_op_state`).
    public var operationalState: HAProxyOperationalState
    /// Its weight as set by the configuration or `set server ... weight` (`srv_uweight`).
    public var weight: Int

    /// Creates a row.
    public init(backend: String, server: String, address: String, port: Int, adminState: HAProxyAdminState, adminBits: Int,
                operationalState: HAProxyOperationalState, weight: Int) {
        self.backend = backend
        self.server = server
        self.address = address
        self.port = port
        self.adminState = adminState
        self.adminBits = adminBits
        self.operationalState = operationalState
        self.weight = weight
    }

    /// Parses `show servers state` (format version 1: a version line, a `#` header naming the columns, a row per
    /// server). Columns are found by name, so columns later haproxy versions add do not matter.
    public static func parse(_ text: String) throws -> [HAProxyServerState] {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
        guard lines.first?.trimmingCharacters(in: .whitespaces) == "1",
              let header = lines.dropFirst().first, header.hasPrefix("# ") else {
            throw OttoError("haproxy.runtime.parse", "`show servers state` did not answer in format 1",
                            causeText: String(text.prefix(500)))
        }
        let names = header.dropFirst(2).split(separator: " ").map(String.init)
        let index = Dictionary(names.enumerated().map { ($1, $0) }, uniquingKeysWith: { a, _ in a })
        func column(_ name: String) throws -> Int {
            guard let i = index[name] else {
                throw OttoError("haproxy.runtime.parse", "`show servers state` has no column \(name)", causeText: header)
            }
            return i
        }
        let be = try column("be_name"), srv = try column("srv_name"), addr = try column("srv_addr"), port = try column("srv_port")
        let admin = try column("srv_admin_state"), op = try column("srv_op_state"), weight = try column("srv_uweight")
        var rows: [HAProxyServerState] = []
        for line in lines.dropFirst(2) where !line.hasPrefix("#") {
            let f = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            guard f.count == names.count, let p = Int(f[port]), let bits = Int(f[admin]), let o = Int(f[op]),
                  let opState = HAProxyOperationalState(rawValue: o), let w = Int(f[weight]) else {
                throw OttoError("haproxy.runtime.parse", "`show servers state` has a row otto cannot read", causeText: line)
            }
            rows.append(HAProxyServerState(backend: f[be], server: f[srv], address: f[addr], port: p,
                                           adminState: HAProxyAdminState(adminBits: bits), adminBits: bits,
                                           operationalState: opState, weight: w))
        }
        return rows
    }
}
