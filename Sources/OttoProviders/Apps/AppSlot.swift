/// Which of the two places on a machine a release of an app runs in. Release numbers alternate between them, so a
/// new release always starts beside the one serving (on its own port, with its own haproxy server slot) and the
/// previous one keeps running until the new one has proved itself.
public enum AppSlot: String, Sendable, Hashable, CaseIterable, Codable {
    /// Odd releases: the app's own port.
    case a
    /// Even releases: the port after it.
    case b

    /// The slot of release `number` (numbers start at 1).
    public init(release number: Int) { self = number % 2 == 1 ? .a : .b }

    /// The other slot.
    public var other: AppSlot { self == .a ? .b : .a }

    /// Added to the app's port for this slot.
    public var portOffset: Int { self == .a ? 0 : 1 }

    /// The haproxy server name of this slot on `machine` (a machine name such as `demo-web-0`).
    public func serverName(machine: String) -> String { "\(machine)_\(rawValue)" }
}
