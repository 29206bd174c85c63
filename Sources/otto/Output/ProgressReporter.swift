import Foundation
import OttoCore
import OttoEngine
import OttoPlan
import Synchronization

/// Shows apply progress: a line per finished resource, plus a live counter on a terminal;
/// plain lines without a terminal; one JSON object per event with `--json`.
final class ProgressReporter: Sendable {
    enum Style: Sendable { case live, plain, json }

    private struct Counts { var done = 0; var failed = 0; var skipped = 0; var running = 0 }
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

    private func emitJSON(_ e: ApplyEvent) {
        var obj: [String: Any] = [:]
        switch e {
        case .started(let a, let act): obj = ["event": "started", "address": a.description, "action": act.rawValue]
        case .finished(let a, let act, let s): obj = ["event": "finished", "address": a.description, "action": act.rawValue, "seconds": s]
        case .failed(let a, let act, let m): obj = ["event": "failed", "address": a.description, "action": act.rawValue, "message": m]
        case .skipped(let a, let act, let b): obj = ["event": "skipped", "address": a.description, "action": act.rawValue, "because": b.description]
        case .interrupted(let a, let act): obj = ["event": "interrupted", "address": a.description, "action": act.rawValue]
        case .handlerStarted(let h): obj = ["event": "handler_started", "handler": h.id]
        case .handlerFinished(let h, let failure):
            obj = ["event": failure == nil ? "handler_finished" : "handler_failed", "handler": h.id]
            if let failure { obj["message"] = failure }
        }
        if let data = try? JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys]) {
            Terminal.out(String(decoding: data, as: UTF8.self) + "\n")
        }
    }
}
