/// One of the two server slots an app has on each machine behind haproxy. Release N of an app runs in slot `a`
/// (the app's `port`) when N is odd and in slot `b` (`port + 1`) when N is even, so the next release always starts
/// beside the live one. haproxy's configuration lists both slots of every machine whichever release is live;
/// which one gets traffic is runtime state (ready, drain, maint), set over haproxy's runtime API.
public enum AppSlot: String, Sendable, Hashable, CaseIterable {
    /// The slot of odd releases, on the app's port.
    case a
    /// The slot of even releases, on the app's port + 1.
    case b

    /// The slot release `number` (from 1) runs in.
    public init(release number: Int) { self = number % 2 == 1 ? .a : .b }

    /// The slot the other release runs in.
    public var other: AppSlot { self == .a ? .b : .a }

    /// The port of this slot for an app listening on `base`.
    public func port(base: Int) -> Int { self == .a ? base : base + 1 }

    /// haproxy's server name of this slot on `machine` (a machine name, e.g. `demo-web-0_a`).
    public func serverName(machine: String) -> String { "\(machine)_\(rawValue)" }

    /// haproxy's frontend and backend name of app `name` (`app_NAME`).
    public static func proxyName(app name: String) -> String { "app_\(name)" }
}
