import Foundation
import OttoCore
import OttoPlan
import Testing

/// Change reasons are an enum turned into words only where shown; the planner checks resources against typed schemas
/// and marks sensitive attributes so that no rendering of a plan shows their values.
@Suite struct ChangeReasonTests {
    @Test func theWordsAreTodaysWords() {
        let words: [(ChangeReason, String)] = [
            (.doesNotExist, "does not exist yet"),
            (.deletedOutsideOtto, "in state but no longer exists (deleted outside otto)"),
            (.replaceRequested, "replacement requested with --replace"),
            (.cannotChangeInPlace("image"), "`image` cannot change in place (forces replacement)"),
            (.adopted, "exists already; adopted into state"),
            (.upToDate, "up to date"),
            (.knownAfterApply(["records", "ttl"]), "depends on values known only after apply: records, ttl"),
            (.adoptingWithDifferences(["size"]), "exists but differs from the configuration (adopting): size"),
            (.drift(["content_sha256"]), "changed outside otto (drift): content_sha256"),
            (.configurationChanged(["a", "b"]), "configuration changed: a, b"),
            (.madeByInterruptedRun(differs: []), "made by an interrupted run (found by its idempotency key); adopted"),
            (.madeByInterruptedRun(differs: ["size"]), "made by an interrupted run (found by its idempotency key); adopted, and it differs: size"),
            (.destroyRequested, "destroy requested"),
            (.destroyRequestedMadeByInterruptedRun, "destroy requested (made by an interrupted run)"),
            (.removedFromConfiguration, "no longer in configuration"),
            (.madeByInterruptedRunRemoved, "made by an interrupted run and no longer in configuration"),
        ]
        for (reason, text) in words {
            #expect(reason.description == text)
            #expect(String(describing: reason) == text)
        }
        #expect(words.filter { $0.0.isDrift }.map(\.0) == [.deletedOutsideOtto, .drift(["content_sha256"])])
    }

    @Test func reasonsRoundTripThroughJSON() throws {
        let reasons: [ChangeReason] = [.doesNotExist, .cannotChangeInPlace("image"), .drift(["a", "b"]),
                                       .madeByInterruptedRun(differs: []), .madeByInterruptedRun(differs: ["x"]), .upToDate]
        let data = try JSONEncoder().encode(reasons)
        #expect(try JSONDecoder().decode([ChangeReason].self, from: data) == reasons)
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains(#""code":"drift""#) && text.contains(#""text":"changed outside otto (drift): a, b""#))
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(ChangeReason.self, from: Data(#"{"code":"nope"}"#.utf8)) }
    }

    @Test func aPlanOfAnOlderFormatIsRefusedWithAClearError() throws {
        let plan = Plan(options: PlanOptions(), stateLineage: "L", stateSerial: 1, changes: [
            ResourceChange(address: "zone.z", provider: "p", action: .create, before: nil, after: nil, changes: [],
                           reason: .doesNotExist, dependencies: []),
        ], drift: [])
        let enc = JSONEncoder()
        enc.dateEncodingStrategy = .iso8601
        let dec = JSONDecoder()
        dec.dateDecodingStrategy = .iso8601
        let data = try enc.encode(plan)
        #expect(try dec.decode(Plan.self, from: data).changes.first?.reason == .doesNotExist)
        var old = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        old["formatVersion"] = 1
        var changes = try #require(old["changes"] as? [[String: Any]])
        changes[0]["reason"] = "does not exist yet"
        old["changes"] = changes
        let oldData = try JSONSerialization.data(withJSONObject: old)
        do {
            _ = try dec.decode(Plan.self, from: oldData)
            Issue.record("a format-1 plan was read")
        } catch let e as UnsupportedPlanFormat {
            #expect(e.found == 1)
            #expect(e.description.contains("saved by an older otto") && e.description.contains("otto plan -out"))
        }
    }
}

@Suite struct PlannerSchemaTests {
    static let typed = KindSchema(kind: "box", attributes: [
        .required("name", .string, forceNew: true), .optional("size", .int),
        .optional("user_data", .string, sensitive: true, ignoredInDiff: true), .optional("env", .map(.string), sensitive: true),
        .computed("ip", .string),
    ])
    static let schemas = [SchemaKey(provider: "p", kind: "box"): typed]
    static let here = OttoCore.SourceLocation(file: "sites/s.yml", line: 4, column: 7)
    let secret = "s3cret-value-never-shown"

    func input(_ desired: [Resource], state: [ResourceRecord] = []) -> PlannerInput {
        let st = Dictionary(uniqueKeysWithValues: state.map { ($0.address, $0) })
        return PlannerInput(desired: desired, state: st, observed: st.mapValues(\.observed), schemas: Self.schemas,
                            options: PlanOptions(), stateLineage: "L", stateSerial: 1)
    }

    func box(_ attributes: [String: Value]) -> Resource {
        Resource(address: "box.s.a", provider: "p", attributes: attributes, location: Self.here)
    }

    @Test func aMisspeltAttributeRefusesThePlanNamingTheResourceWhereItIsAndTheAttribute() {
        #expect {
            try Planner.plan(input([box(["name": "a", "sise": 2])]))
        } throws: { error in
            let text = "\(error)"
            return text.contains("sites/s.yml:4:7: error: box.s.a: kind `box` has no attribute `sise`; did you mean `size`?")
        }
        #expect {
            try Planner.plan(input([box(["name": "a", "size": "2"])]))
        } throws: { error in "\(error)".contains("box.s.a: attribute `size` must be an integer, got a string \"2\"") }
    }

    @Test func sensitiveValuesAreMarkedAndNeverShownOnceRedacted() throws {
        let recorded = ResourceRecord(address: "box.s.a", provider: "p", providerID: "1",
                                      attributes: ["name": "a", "env": ["TOKEN": .string(secret + "-old")], "user_data": .string(secret + "-old")],
                                      dependencies: [])
        let plan = try Planner.plan(input([box(["name": "a", "user_data": .string(secret), "env": ["TOKEN": .string(secret)]])],
                                          state: [recorded]))
        let change = try #require(plan.changes.first)
        #expect(change.action == .update && change.reason == .configurationChanged(["env"]))
        #expect(change.sensitive == ["user_data", "env"])
        #expect(change.changes.map(\.sensitive) == [true])
        // The plan itself keeps the values (apply needs them); what is shown does not.
        #expect(change.after?.attributes["user_data"] == .string(secret))
        let shown = plan.redacted()
        let enc = JSONEncoder()
        enc.dateEncodingStrategy = .iso8601
        let json = String(decoding: try enc.encode(shown), as: UTF8.self)
        #expect(!json.contains(secret))
        #expect(json.contains(Sensitive.shown))
        #expect(shown.changes[0].changes[0].before == Sensitive.value && shown.changes[0].changes[0].after == Sensitive.value)
        #expect(shown.changes[0].after?.attributes["name"] == "a")
        #expect(shown.drift.allSatisfy { d in !"\(d)".contains(secret) })
    }

    @Test func driftOfASensitiveAttributeIsMarkedToo() throws {
        let recorded = ResourceRecord(address: "box.s.a", provider: "p", providerID: "1", attributes: ["name": "a", "env": ["T": .string(secret)]],
                                      dependencies: [])
        var observed = recorded.observed
        observed.attributes["env"] = ["T": .string(secret + "-changed")]
        let plan = try Planner.plan(PlannerInput(desired: [box(["name": "a", "env": ["T": .string(secret)]])],
                                                 state: ["box.s.a": recorded], observed: ["box.s.a": observed],
                                                 schemas: Self.schemas, options: PlanOptions(mode: .refreshOnly), stateLineage: "L",
                                                 stateSerial: 1))
        #expect(plan.drift.first?.sensitive.contains("env") == true)
        #expect(!"\(plan.redacted().drift)".contains(secret))
    }
}
