/// One of the two places an app has on each machine behind haproxy: slot `a` on the app's `port`, slot `b` on
/// `port + 1`. A new release always starts in the slot the serving release does not use, so both run side by side
/// during a deploy. haproxy's configuration lists both slots of every machine whichever release is live; which one
/// gets traffic is runtime state (ready, drain, maint), set over haproxy's runtime API.
public enum AppSlot: String, Sendable, Hashable, CaseIterable, Codable {
    /// The slot on the app's port.
    case a
    /// The slot on the app's port + 1.
    case b

    /// The slot of the first release, and the one release `number` would take with no other release around
    /// (odd numbers `a`, even numbers `b`).
    public init(release number: Int) { self = number % 2 == 1 ? .a : .b }

    /// The other slot.
    public var other: AppSlot { self == .a ? .b : .a }

    /// Added to the app's port for this slot.
    public var portOffset: Int { self == .a ? 0 : 1 }

    /// The port of this slot for an app listening on `base`.
    public func port(base: Int) -> Int { base + portOffset }

    /// haproxy's server name of this slot on `machine` (a machine name, e.g. `demo-web-0_a`).
    public func serverName(machine: String) -> String { "\(machine)_\(rawValue)" }

    /// haproxy's frontend and backend name of app `name` (`app_NAME`).
    public static func proxyName(app name: String) -> String { "app_\(name)" }
}
