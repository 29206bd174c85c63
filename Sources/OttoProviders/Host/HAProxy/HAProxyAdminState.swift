/// A server's administrative state, set over the runtime API (`set server B/S state ...`): whether otto lets it take
/// traffic. haproxy's own health checks decide the operational state separately (`HAProxyOperationalState`).
public enum HAProxyAdminState: String, Sendable, Hashable, CaseIterable {
    /// Takes new connections (when its health check passes).
    case ready
    /// Takes no new connections; the ones it has finish (and its health check goes on).
    case drain
    /// Takes nothing: its connections are not balanced to it and its health check stops.
    case maint

    /// The state haproxy's `srv_admin_state` bits mean (`show servers state`): a maintenance bit (forced 0x01,
    /// inherited 0x02, configured 0x04, address resolution 0x20) is `maint`, else a drain bit (forced 0x08,
    /// inherited 0x10) is `drain`, else `ready`.
    public init(adminBits bits: Int) {
        if bits & 0x27 != 0 { self = .maint } else if bits & 0x18 != 0 { self = .drain } else { self = .ready }
    }
}

/// A server's operational state as haproxy's checks see it (`srv_op_state` of `show servers state`).
public enum HAProxyOperationalState: Int, Sendable, Hashable {
    /// Down: checks fail, or the server is in maintenance.
    case stopped = 0
    /// Coming up (slow start).
    case starting = 1
    /// Up.
    case running = 2
    /// Going down (soft stop, `NOLB`).
    case stopping = 3
}
