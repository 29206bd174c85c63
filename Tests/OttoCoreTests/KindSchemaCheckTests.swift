import OttoCore
import Testing

/// A kind's declared attributes catch misspelt, mistyped and missing attributes, at the resource's location, without
/// ever printing a sensitive value.
@Suite struct KindSchemaCheckTests {
    let schema = KindSchema(kind: "thing", attributes: [
        .required("name", .string, forceNew: true), .optional("port", .int), .optional("tags", .strings, unordered: true),
        .optional("secret", .string, sensitive: true, ignoredInDiff: true), .optional("env", .map(.string)),
        .computed("id", .string),
    ])
    let at = SourceLocation(file: "sites/demo.yml", line: 7, column: 3)

    func thing(_ attributes: [String: Value]) -> Resource {
        Resource(address: "thing.demo.a", provider: "p", attributes: attributes, location: at)
    }

    @Test func planningSetsFollowFromTheAttributes() {
        #expect(schema.forceNew == ["name"])
        #expect(schema.computed == ["secret", "id"])
        #expect(schema.unordered == ["tags"])
        #expect(schema.sensitive == ["secret"])
        #expect(schema.attribute("port")?.type == .int)
    }

    @Test func aWellFormedResourcePasses() {
        #expect(schema.check(thing(["name": "a", "port": 80, "tags": ["x"], "secret": "s", "env": ["A": "b"]])).isEmpty)
        #expect(schema.check(thing(["name": "a", "port": .null])).isEmpty)
    }

    @Test func aMisspeltAttributeFailsAtTheResourceNamingIt() {
        let d = schema.check(thing(["name": "a", "prot": 80]))
        #expect(d.count == 1)
        #expect(d.first?.location == at)
        #expect(d.first?.description == "sites/demo.yml:7:3: error: thing.demo.a: kind `thing` has no attribute `prot`; did you mean `port`?")
        let far = schema.check(thing(["name": "a", "completely_else": 1]))
        #expect(far.first?.message.contains("it takes `env`, `name`, `port`, `secret`, `tags`") == true)
    }

    @Test func aMistypedAttributeFailsWithTheTypeWanted() {
        let d = schema.check(thing(["name": "a", "port": "80", "tags": ["x", 1], "env": ["A": true]]))
        #expect(d.map(\.message) == [
            "thing.demo.a: attribute `env` must be a map of strings, got a map {A: true}",
            "thing.demo.a: attribute `port` must be an integer, got a string \"80\"",
            "thing.demo.a: attribute `tags` must be a list of strings, got a list [\"x\", 1]",
        ])
    }

    @Test func missingRequiredAndComputedAttributesFail() {
        #expect(schema.check(thing(["port": 1])).map(\.message) == ["thing.demo.a: kind `thing` requires attribute `name` (a string)"])
        #expect(schema.check(thing(["name": "a", "id": "x"])).map(\.message)
                == ["thing.demo.a: attribute `id` of kind `thing` is set by the provider, not by the configuration"])
        #expect(schema.check(thing(["name": .null])).map(\.message) == ["thing.demo.a: attribute `name` is required and cannot be null"])
    }

    @Test func referencesPassUntilResolved() {
        let ref = Value.ref(Value.Reference("machine.demo.web[0]", "ipv4"))
        #expect(schema.check(thing(["name": ref, "port": ref, "tags": [ref], "env": ["A": .unknown]])).isEmpty)
    }

    @Test func aSensitiveValueNeverAppearsInAnError() {
        let d = schema.check(thing(["name": "a", "secret": ["hunter2-do-not-print"]]))
        #expect(d.count == 1)
        #expect(d.first?.message.contains("`secret` must be a string") == true)
        #expect(!d.description.contains("hunter2"))
    }

    @Test func untypedSchemasCheckNothing() {
        #expect(KindSchema(kind: "thing").check(thing(["anything": 1])).isEmpty)
    }
}
