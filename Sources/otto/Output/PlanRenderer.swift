import Foundation
import OttoCore
import OttoPlan

/// Turns a plan into the text a person reads.
enum PlanRenderer {
    static func symbol(_ a: Action) -> String {
        switch a {
        case .noop: return " "
        case .create: return "+"
        case .update: return "~"
        case .replace: return "-/+"
        case .delete: return "-"
        }
    }

    /// A value as the plan shows it; a sensitive one (present) is `(sensitive)`.
    static func show(_ v: Value?, sensitive: Bool = false) -> String {
        var out = ""
        show(v, sensitive: sensitive, into: &out)
        return out
    }

    /// Appends `show(v, sensitive:)` to `out`.
    static func show(_ v: Value?, sensitive: Bool, into out: inout String) {
        guard let v else { out += "(none)"; return }
        if sensitive { out += Sensitive.shown; return }
        if !v.isFullyKnown {
            let refs = v.references.map(\.description)
            out += refs.isEmpty ? "(known after apply)" : "(known after apply: \(refs.joined(separator: ", ")))"
            return
        }
        v.write(into: &out)
    }

    /// The human plan: one block per change, then the totals.
    static func render(_ plan: Plan, color: Bool) -> String {
        pieces(plan, color: color).joined()
    }

    /// `render`'s text in pieces, in order: a large plan's changes are written in slices, and printing them one by one
    /// spares a copy of the whole text (tens of megabytes for 100k changes).
    static func pieces(_ plan: Plan, color: Bool) -> [String] {
        var out = plan.environment.map { "Environment: \($0)\n\n" } ?? ""
        if plan.options.mode == .refreshOnly {
            if plan.drift.isEmpty { return [out + "No drift: the state matches what exists.\n"] }
            out += "Refresh found differences between the state and what exists:\n\n"
            for d in plan.drift {
                let what = d.observed == nil ? "no longer exists" : (d.recorded == nil ? "exists, not yet in state" : "changed outside otto")
                out += "  \(d.address): \(what)\n"
                if let r = d.recorded, let o = d.observed {
                    for k in Set(r.attributes.keys).union(o.attributes.keys).sorted() where r.attributes[k] != o.attributes[k] {
                        let hide = d.sensitive.contains(k)
                        out += "      \(k): \(show(r.attributes[k], sensitive: hide)) → \(show(o.attributes[k], sensitive: hide))\n"
                    }
                }
            }
            out += "\nApplying this plan updates the state only; nothing is changed.\n"
            return [out]
        }
        if !plan.changes.contains(where: { $0.action != .noop }) && plan.handlers.isEmpty {
            return [out + "No changes. \(plan.changes.count) resource\(plan.changes.count == 1 ? "" : "s") up to date.\n"
                + notes(plan) + adopted(plan) + (plan.refresh.map(refreshLine) ?? "")]
        }
        // Written straight into strings sized once: a 100k plan is a few million pieces of text. A large plan is written
        // in slices on every CPU at once (`Blocking.map`: callers render off the cooperative pool, see `rendered`).
        let changes = plan.changes
        out += "otto will perform these actions:\n\n"
        let slices = changes.count < 4096 ? 1 : 4 * ProcessInfo.processInfo.activeProcessorCount
        let bounds = (0...slices).map { $0 * changes.count / slices }
        let texts = Blocking.map(Array(zip(bounds, bounds.dropFirst()))) { writeChanges(changes, $0.0..<$0.1, color: color) }
        let head = out
        out = ""
        if !plan.handlers.isEmpty {
            out += "\nPending from an earlier apply (it changed things, then stopped before these ran):\n"
            for h in plan.handlers { out += "  ! \(h.id)\n" }
        }
        out += notes(plan)
        out += adopted(plan)
        out += "\n" + totals(plan) + "\n"
        if let r = plan.refresh { out += refreshLine(r) }
        return [head] + texts + [out]
    }

    /// What the plan reports besides its changes (fleet units no machine can take, machines in their grace period).
    static func notes(_ plan: Plan) -> String {
        guard !plan.notes.isEmpty else { return "" }
        return "\nNotes:\n" + plan.notes.map { "  ! \($0.address): \($0.message)\n" }.joined()
    }

    /// `pieces` made off the cooperative pool (a large plan's text is written on every CPU), printed in order.
    static func print(_ plan: Plan, color: Bool) async {
        for piece in await Blocking.run({ pieces(plan, color: color) }) { Terminal.out(piece) }
    }

    /// The ANSI colour of an action's lines, when colour is on.
    private static func colorCode(_ a: Action, color: Bool) -> String? {
        guard color else { return nil }
        switch a {
        case .create: return "32"
        case .update: return "33"
        case .replace: return "35"
        case .delete: return "31"
        case .noop: return nil
        }
    }

    /// The lines of the changes in `range` (those that do something), in order.
    private static func writeChanges(_ changes: [ResourceChange], _ range: Range<Int>, color: Bool) -> String {
        var out = ""
        var lines = 0
        for i in range where changes[i].action != .noop { lines += 1 + changes[i].changes.count }
        out.reserveCapacity(lines * 64 + 64)
        for i in range where changes[i].action != .noop {
            let action = changes[i].action
            let code = colorCode(action, color: color)
            if let code { out += "\u{1B}[\(code)m" }
            out += "  "
            out += symbol(action)
            out += " "
            out += changes[i].address.kind
            out += "."
            out += changes[i].address.name
            if code != nil { out += "\u{1B}[0m" }
            out += "  ("
            out += action.rawValue
            out += ": "
            out += changes[i].reason.description
            out += ")\n"
            for ch in changes[i].changes {
                if let detail = ch.detail, !ch.sensitive {
                    // the trailing newline of the loop is part of what `detail` writes
                    out += self.detail(ch.name, detail, mark: ch.forcesReplace ? "  # forces replacement" : "")
                    continue
                }
                out += "      "
                out += ch.name
                switch action {
                case .create:
                    out += " = "
                    show(ch.after, sensitive: ch.sensitive, into: &out)
                case .delete:
                    out += " = "
                    show(ch.before, sensitive: ch.sensitive, into: &out)
                default:
                    if ch.sensitive && ch.before != nil && ch.after != nil {
                        out += ": "
                        out += Sensitive.shown
                        out += " changed"
                    } else {
                        out += ": "
                        show(ch.before, sensitive: ch.sensitive, into: &out)
                        out += " → "
                        show(ch.after, sensitive: ch.sensitive, into: &out)
                    }
                    if ch.forcesReplace { out += "  # forces replacement" }
                }
                out += "\n"
            }
        }
        return out
    }

    /// A change shown by what it means (as `ansible --diff` does): a text's unified diff, why a text is not shown, or a
    /// directory's changed file names.
    static func detail(_ name: String, _ detail: ChangeDetail, mark: String) -> String {
        switch detail {
        case .diff(let text):
            return text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map { "      \($0)\n" }.joined()
        case .unavailable(let why):
            return "      \(name): \(why)\(mark)\n"
        case .files(let added, let removed, let changed):
            var counts: [String] = []
            if !added.isEmpty { counts.append("\(added.count) added") }
            if !changed.isEmpty { counts.append("\(changed.count) changed") }
            if !removed.isEmpty { counts.append("\(removed.count) removed") }
            var out = "      \(name): \(counts.isEmpty ? "modes changed" : counts.joined(separator: ", "))\(mark)\n"
            for (sign, names) in [("+", added), ("~", changed), ("-", removed)] {
                for n in names { out += "        \(sign) \(n)\n" }
            }
            return out
        }
    }

    /// Resources that exist as the configuration wants but are not in state yet (made before otto knew them, or by an
    /// interrupted run): applying records them without changing them.
    static func adopted(_ plan: Plan) -> String {
        let adopted = plan.changes.filter { $0.action == .noop && $0.reason != .upToDate }
        guard !adopted.isEmpty else { return "" }
        return "\nAdopted into state as they are (no change needed):\n"
            + adopted.map { "  = \($0.address)  (\($0.reason))\n" }.joined()
    }

    /// `Refreshed 1,000 resources in 0.42 s with 5 API calls (do: 5).`
    static func refreshLine(_ r: RefreshSummary) -> String {
        let total = r.apiCalls.values.reduce(0, +)
        let per = r.apiCalls.filter { $0.value > 0 }.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")
        let calls = total == 0 ? "" : " with \(total) API call\(total == 1 ? "" : "s") (\(per))"
        return "Refreshed \(r.resources) resource\(r.resources == 1 ? "" : "s") in \(String(format: "%.2f", r.seconds)) s\(calls).\n"
    }

    /// `Plan: 2 to create, 1 to update, 0 to replace, 0 to delete; 14 unchanged.`
    static func totals(_ plan: Plan) -> String {
        let c = plan.counts
        return "Plan: \(c[.create] ?? 0) to create, \(c[.update] ?? 0) to update, \(c[.replace] ?? 0) to replace, "
            + "\(c[.delete] ?? 0) to delete; \(c[.noop] ?? 0) unchanged."
            + (plan.handlers.isEmpty ? "" : " \(plan.handlers.count) pending handler\(plan.handlers.count == 1 ? "" : "s") to run.")
    }
}
