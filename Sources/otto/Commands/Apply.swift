import ArgumentParser
import Foundation
import OttoCore
import OttoEngine
import OttoPlan
import OttoState
import Synchronization

/// `otto apply [PLANFILE]`: make it so.
struct Apply: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply a saved plan, or plan and apply after confirmation.")
    @OptionGroup var global: GlobalOptions
    @OptionGroup var scope: PlanScopeOptions
    @OptionGroup var run: ApplyRunOptions

    @Argument(help: "A plan saved with `otto plan -out FILE`: applied exactly, refused if the state changed since.")
    var planFile: String?

    func run() async throws {
        try await runApply(global: global, options: { try scope.planOptions(destroy: false) }, run: run,
                           planFile: planFile, command: "otto apply")
    }
}

/// `otto destroy`: delete everything otto manages (or the targets).
struct Destroy: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Delete everything in state, or the targets and what depends on them.")
    @OptionGroup var global: GlobalOptions
    @Option(name: .long, help: "Limit to this address (or prefix) and what depends on it. Repeatable.")
    var target: [String] = []
    @OptionGroup var run: ApplyRunOptions

    func run() async throws {
        try await runApply(global: global, options: { PlanOptions(mode: .destroy, targets: target) }, run: run,
                           planFile: nil, command: "otto destroy")
    }
}

/// Options of every command that changes things.
struct ApplyRunOptions: ParsableArguments {
    @Flag(name: .long, help: "Do not ask for confirmation (required without a terminal).")
    var autoApprove = false

    @Option(name: .long, help: "Most actions in flight at once (each provider also has its own limit).")
    var parallelism: Int = 10

    @Flag(name: .long, help: "Print one JSON object per event and a JSON summary.")
    var json = false
}

/// Shared body of apply and destroy: the apply pipeline with the plan shown and confirmed on the terminal, progress
/// printed as it happens, and Ctrl-C letting actions in flight finish.
/// `declined` runs when nothing was applied because the confirmation was declined or could not be asked.
func runApply(global: GlobalOptions, options: () throws -> PlanOptions, run: ApplyRunOptions, planFile: String?,
              command: String, declined: @Sendable () async -> Void = {}) async throws {
    let summary: ApplySummary
    do {
        guard run.parallelism >= 1 else { throw OttoError("cli.flags", "--parallelism must be at least 1") }
        let ctx = try await ProjectContext.open(global)
        let saved = try planFile.map(PlanFile.read)
        let opts = try options()
        let style: ProgressReporter.Style = run.json ? .json : (Terminal.stdoutIsTTY ? .live : .plain)
        let cancel = CancellationFlag()
        let live = LiveApply(style: style)
        let json = run.json
        let autoApprove = run.autoApprove
        let request = ApplyRequest(
            command: command, user: currentUser(), options: opts, saved: saved, parallelism: run.parallelism,
            lockTimeout: try global.lockWait(),
            review: { plan in
                if saved == nil {
                    if !json { await PlanRenderer.print(plan, color: Terminal.color) }
                    if plan.hasChanges && !autoApprove {
                        guard Terminal.stdinIsTTY else {
                            throw OttoError("apply.confirm", "refusing to apply without confirmation: there is no terminal to ask on; pass --auto-approve, or save a plan with `otto plan -out FILE` and apply that")
                        }
                        let q = plan.options.mode == .destroy ? "Destroy these resources?" : "Apply these changes?"
                        guard Terminal.confirm(q) else { throw OttoError("apply.cancelled", "apply cancelled; nothing was changed") }
                    }
                }
                if plan.hasChanges || !plan.drift.isEmpty || !plan.abandonedCreates.isEmpty {
                    live.start(total: plan.actionable.count, cancel: cancel)
                }
                return plan
            },
            cancellation: cancel, onEvent: { live.handle($0) })
        let result = try await ApplyPipeline(store: ctx.store).apply(ctx.applyInput(providers: global.providerFilter), request)
        live.finish()
        summary = result.summary
    } catch {
        if let e = error as? OttoError, ["apply.cancelled", "apply.confirm"].contains(e.code) { await declined() }
        throw fail(error)
    }
    if run.json {
        Terminal.out(try JSONLines.line(ApplySummaryLine(ApplySummaryDocument(summary))))
    } else {
        Terminal.out("\nApply \(summary.ok ? "complete" : (summary.interrupted ? "interrupted" : "finished with errors")): \(summary.line).\n")
    }
    if !summary.ok { throw ExitCode.failure }
}

/// The terminal side of one apply: the progress reporter and the interrupt handler, both made once the plan is
/// confirmed (Ctrl-C before that ends otto as usual).
final class LiveApply: Sendable {
    private struct Parts {
        var reporter: ProgressReporter?
        var signals: InterruptHandler?
    }
    private let style: ProgressReporter.Style
    private let parts = Mutex(Parts())

    init(style: ProgressReporter.Style) { self.style = style }

    /// Starts reporting `total` actions and catching Ctrl-C.
    func start(total: Int, cancel: CancellationFlag) {
        let reporter = ProgressReporter(style: style, total: total)
        let signals = InterruptHandler(cancel)
        parts.withLock { $0 = Parts(reporter: reporter, signals: signals) }
    }

    func handle(_ event: ApplyEvent) {
        parts.withLock { $0.reporter }?.handle(event)
    }

    /// Stops catching Ctrl-C and ends the progress display.
    func finish() {
        let p = parts.withLock { p -> Parts in defer { p = Parts() }; return p }
        p.signals?.stop()
        p.reporter?.finish()
    }
}

func currentUser() -> String {
    ProcessInfo.processInfo.environment["USER"] ?? String(cString: getpwuid(getuid())?.pointee.pw_name ?? strdup("unknown"))
}

/// First Ctrl-C (or SIGTERM): let in-flight actions finish, start nothing new. Second: quit at once.
final class InterruptHandler: @unchecked Sendable {
    // @unchecked: the sources are created here and only cancelled in stop(); DispatchSource is thread-safe.
    private var sources: [any DispatchSourceSignal] = []

    init(_ flag: CancellationFlag) {
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let src = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            src.setEventHandler {
                if flag.isCancelled {
                    Terminal.err("\nSecond interrupt: stopping now. Actions in flight may be missing from the state.\n")
                    exit(130)
                }
                flag.cancel()
                Terminal.err("\nInterrupt received: waiting for actions in flight to finish and recording them; nothing new starts. Press Ctrl-C again to stop at once.\n")
            }
            src.resume()
            sources.append(src)
        }
    }

    func stop() {
        sources.forEach { $0.cancel() }
        signal(SIGINT, SIG_DFL)
        signal(SIGTERM, SIG_DFL)
    }
}
