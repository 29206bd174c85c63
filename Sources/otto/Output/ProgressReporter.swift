import Foundation
import OttoCore
import OttoEngine
import OttoPlan
import Synchronization

/// Shows apply progress: a line per finished resource, plus a live counter on a terminal;
/// plain lines without a terminal; with `--json`, one ``ApplyEventDocument`` per line (what the API shows of a run).
final class ProgressReporter: Sendable {
    enum Style: Sendable { case live, plain, json }

    private struct Counts { var done = 0; var failed = 0; var skipped = 0; var running = 0; var seq = 0 }
    private let style: Style
    private let total: Int
    private let counts = Mutex(Counts())

    init(style: Style, total: Int) {
        self.style = style
        self.total = total
    }

    private func verb(_ a: Action, past: Bool) -> String {
        switch a {
        case .create: return past ? "created" : "creating"
        case .update: return past ? "updated" : "updating"
        case .replace: return past ? "replaced" : "replacing"
        case .delete: return past ? "deleted" : "deleting"
        case .noop: return past ? "unchanged" : "checking"
        }
    }

    func handle(_ e: ApplyEvent) {
        if style == .json { emitJSON(e); return }
        var line: String?
        let c: Counts = counts.withLock { c in
            switch e {
            case .started(let a, let act):
                c.running += 1
                if style == .plain { line = "\(a): \(verb(act, past: false))..." }
            case .finished(let a, let act, let s):
                c.running -= 1; c.done += 1
                line = "\(a): \(verb(act, past: true)) (\(String(format: "%.1f", s))s)"
            case .failed(let a, let act, let m):
                c.running -= 1; c.failed += 1
                line = "\(a): \(verb(act, past: false)) FAILED: \(m)"
            case .skipped(let a, _, let b):
                c.skipped += 1
                line = "\(a): skipped, because \(b) failed"
            case .interrupted(let a, _):
                line = "\(a): not started (interrupted)"
            case .handlerStarted(let h):
                if style == .plain { line = "\(h.id)..." }
            case .handlerFinished(let h, let failure):
                line = failure.map { "\(h.id) FAILED (still pending): \($0)" } ?? "\(h.id): done"
            }
            return c
        }
        if style == .live {
            var text = "\r\u{1B}[K"
            if let line { text += line + "\n" }
            text += "[\(c.done + c.failed + c.skipped)/\(total)] \(c.running) running, \(c.failed) failed"
            Terminal.out(text)
        } else if let line {
            Terminal.out(line + "\n")
        }
    }

    /// Ends the live counter line.
    func finish() { if style == .live { Terminal.out("\r\u{1B}[K") } }

    /// One `ApplyEventDocument` line per event (the shape of a run's events in the API).
    private func emitJSON(_ e: ApplyEvent) {
        let seq = counts.withLock { c in
            c.seq += 1
            return c.seq
        }
        if let line = try? JSONLines.line(ApplyEventDocument(e, seq: seq)) { Terminal.out(line) }
    }
}
