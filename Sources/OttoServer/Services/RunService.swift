import OttoPlan

/// Plans, applies and status for the API, provided by the CLI (the only place that builds providers).
///
/// `otto serve` implements it with the real engine; tests use a double. Errors are mapped to answers: `OttoError`
/// `state.locked` → 409, `config.*` / `cli.*` / `plan.*` and `DiagnosticsError` → 422, anything else → 502.
public protocol RunService: Sendable {
    /// Refreshes and plans under the state lock; changes nothing.
    func plan(_ request: RunRequest) async throws -> Plan

    /// Starts an apply and returns at once with its run (state `running`); the apply goes on in the background and
    /// is followed with ``run(id:)``. ``RunBook`` does the bookkeeping for implementations.
    func startApply(_ request: RunRequest) async throws -> RunInfo

    /// A run started by ``startApply(_:)`` (or by the drift-correction service), with its events so far; nil when unknown.
    func run(id: String) async throws -> RunInfo?

    /// What exists and how it compares with the desired state.
    func status() async throws -> StatusReport
}

/// The body of `POST /v1/plan` and `POST /v1/apply` (every field optional):
/// `{"targets": ["dns_record.demo"], "replace": ["machine.demo.web[0]"], "destroy": false, "refresh_only": false,
///   "refresh": true, "parallelism": 10}` (`parallelism` only for apply).
public struct RunRequest: Sendable, Equatable {
    /// The planner options.
    public var options: PlanOptions
    /// Most actions in flight at once (apply).
    public var parallelism: Int

    /// Creates a request.
    public init(options: PlanOptions = PlanOptions(), parallelism: Int = 10) {
        self.options = options
        self.parallelism = parallelism
    }
}
