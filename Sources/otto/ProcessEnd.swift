import Synchronization

/// Values a command has finished with, kept until the process exits instead of freed piece by piece: at exit the
/// system takes the whole heap back at once, while releasing a 100k-resource project and its plan object by object
/// costs about a tenth of a second of the command's time. Only for commands that end right after; never in `otto serve`.
enum ProcessEnd {
    private static let kept = Mutex<[any Sendable]>([])

    /// Keeps `value` (and everything it holds) alive until the process exits.
    static func keep(_ value: any Sendable) {
        kept.withLock { $0.append(value) }
    }
}
