import Foundation
import OttoCore

extension ConfigReader {
    /// Decodes `pipelines/NAME.yml`; `fileName` is NAME, which `pipeline:` (the app) must repeat.
    func pipeline(_ root: YAMLNode, fileName: String) -> PipelineSpec? {
        guard let f = fields(root, "a pipeline", allowed: ["pipeline", "site", "stages"], required: ["pipeline", "stages"]),
              let app = self.name(f["pipeline"], "app name") else { return nil }
        if app != fileName {
            error(f["pipeline"]?.location, "the pipeline of app `\(app)` is in pipelines/\(fileName).yml; name the file pipelines/\(app).yml")
        }
        let site = f["site"].flatMap { self.name($0, "site name") }
        guard let list = f["stages"] else { return nil }
        guard let items = list.items, !items.isEmpty else {
            error(list.location, "`stages` is a list of environments, first to last, e.g. `[{environment: staging}, {environment: production, approval: true}]`")
            return nil
        }
        var stages: [PipelineStage] = []
        for (i, item) in items.enumerated() {
            guard let stage = pipelineStage(item, first: i == 0) else { continue }
            if stages.contains(where: { $0.environment == stage.environment }) {
                error(item.location, "environment `\(stage.environment)` is in the pipeline twice")
                continue
            }
            stages.append(stage)
        }
        return PipelineSpec(app: app, site: site, stages: stages, location: root.location)
    }

    /// One stage: `staging`, or a mapping with `environment:` and its gates.
    private func pipelineStage(_ node: YAMLNode, first: Bool) -> PipelineStage? {
        if node.entries == nil, let env = self.name(node, "environment name") {
            return PipelineStage(environment: env, location: node.location)
        }
        let gateKeys = ["soak", "error_budget", "approval", "windows", "freezes"]
        guard let f = fields(node, "a pipeline stage", allowed: ["environment", "on_failure"] + gateKeys, required: ["environment"]),
              let env = self.name(f["environment"], "environment name") else { return nil }
        var stage = PipelineStage(environment: env, location: node.location)
        if first, let key = gateKeys.first(where: { f[$0] != nil }) {
            error(f.keyLocation(key), "the first stage (\(env)) is deployed by `otto apply`, not promoted into: its gates go on the stage after it")
        }
        if let n = f["soak"] {
            if let d = duration(n) { stage.soak = d }
        }
        if let n = f["error_budget"], let b = fields(n, "an error budget", allowed: ["max_5xx_per_mille"], required: ["max_5xx_per_mille"]) {
            stage.max5xxPerMille = int(b["max_5xx_per_mille"], in: 0...1000, "max_5xx_per_mille")
        }
        if let n = f["approval"] { stage.approval = bool(n) ?? false }
        for item in f["windows"].map({ list($0, "windows") }) ?? [] {
            guard let text = string(item) else { continue }
            do { stage.windows.append(try TimeWindow(parsing: text)) } catch { self.error(item.location, "window \(Value.string(text)): \(error)") }
        }
        for item in f["freezes"].map({ list($0, "freezes") }) ?? [] {
            guard let fr = fields(item, "a freeze", allowed: ["from", "to", "reason"], required: ["from", "to"]) else { continue }
            func time(_ key: String) -> Date? {
                guard let n = fr[key], let text = string(n) else { return nil }
                guard let d = ISO8601.date(text) else {
                    error(n.location, "`\(key)` is a time in ISO 8601 with its zone, e.g. 2026-12-20T00:00:00Z; got \(Value.string(text))")
                    return nil
                }
                return d
            }
            guard let from = time("from"), let to = time("to") else { continue }
            guard from < to else { error(fr.keyLocation("to"), "a freeze ends after it starts"); continue }
            stage.freezes.append(Freeze(from: from, to: to, reason: fr["reason"].flatMap { string($0) } ?? ""))
        }
        if let n = f["on_failure"], let text = string(n) {
            if let p = FailurePolicy(rawValue: text) { stage.onFailure = p } else {
                error(n.location, "unknown on_failure \(Value.string(text)); one of \(FailurePolicy.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        }
        return stage
    }
}
