import OttoCore

/// How a sensitive value is shown, everywhere: plan text, `--json`, the API, logs and errors.
public enum Sensitive {
    /// `(sensitive)`.
    public static let shown = "(sensitive)"
    /// The value that stands in for a sensitive one in redacted plans.
    public static let value = Value.string(shown)

    /// `attributes` with the values of `names` replaced by `value`.
    public static func redact(_ attributes: [String: Value], _ names: Set<String>) -> [String: Value] {
        guard !names.isEmpty else { return attributes }
        var out = attributes
        for name in names where out[name] != nil { out[name] = value }
        return out
    }
}

extension Plan {
    /// The plan as it may be shown: every value of a sensitive attribute (as the planner marked them from the kinds'
    /// schemas) replaced by `(sensitive)`, in changes, the resources before and after, and drift. Only a saved plan
    /// file (mode 0600, needed to apply exactly) keeps the values.
    public func redacted() -> Plan {
        var plan = self
        plan.changes = changes.map { $0.redacted() }
        plan.drift = drift.map { d in
            var d = d
            if let recorded = d.recorded { d.recorded?.attributes = Sensitive.redact(recorded.attributes, d.sensitive) }
            if let observed = d.observed { d.observed?.attributes = Sensitive.redact(observed.attributes, d.sensitive) }
            return d
        }
        return plan
    }
}

extension ResourceChange {
    /// The change as it may be shown (see `Plan.redacted`).
    public func redacted() -> ResourceChange {
        guard !sensitive.isEmpty || changes.contains(where: \.sensitive) else { return self }
        var c = self
        if let before { c.before?.attributes = Sensitive.redact(before.attributes, sensitive) }
        if let after { c.after?.attributes = Sensitive.redact(after.attributes, sensitive) }
        c.changes = changes.map { $0.redacted() }
        return c
    }
}

extension AttributeChange {
    /// The difference as it may be shown: both values `(sensitive)`, and no detail (diff), when the attribute is
    /// sensitive.
    public func redacted() -> AttributeChange {
        guard sensitive else { return self }
        var c = self
        c.before = before.map { _ in Sensitive.value }
        c.after = after.map { _ in Sensitive.value }
        c.detail = nil
        return c
    }
}
