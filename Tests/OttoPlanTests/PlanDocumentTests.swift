import Foundation
import OttoCore
import OttoPlan
import Testing

/// The plan document the API and `otto plan --json` share never shows a sensitive value.
@Suite struct PlanDocumentTests {
    @Test func attributesTheSchemaMarksSensitiveAreHidden() throws {
        let secret = "s3cret-env-4e1d"
        let unit = Resource(address: "unit.shop.worker.web[0]", provider: "host",
                            attributes: ["environment": .map(["TOKEN": .string(secret)]), "exec": "/bin/true"])
        let change = ResourceChange(address: unit.address, provider: "host", action: .create, before: nil, after: unit,
                                    changes: [AttributeChange(name: "environment", before: nil, after: unit.attributes["environment"],
                                                              sensitive: true),
                                              AttributeChange(name: "exec", before: nil, after: "/bin/true")],
                                    reason: .doesNotExist, dependencies: [], sensitive: ["environment"])
        let plan = Plan(options: PlanOptions(), stateLineage: "L", stateSerial: 0, changes: [change], drift: [])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        let text = String(decoding: try encoder.encode(PlanDocument(plan)), as: UTF8.self)
        #expect(!text.contains(secret), "\(text)")
        #expect(text.contains("(sensitive)"))
        #expect(text.contains("/bin/true"))
    }
}
