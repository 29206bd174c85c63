import OttoCore
import Testing

@Suite struct DependencyGraphTests {
    @Test func ordersDependenciesFirst() throws {
        let g = DependencyGraph(nodes: ["a.1", "a.2", "a.3"], edges: [("a.1", "a.2", nil), ("a.2", "a.3", nil)])
        #expect(try g.topologicalOrder() == ["a.3", "a.2", "a.1"])
        #expect(g.closure(dependenciesOf: ["a.2"]) == ["a.2", "a.3"])
        #expect(g.closure(dependentsOf: ["a.2"]) == ["a.1", "a.2"])
    }

    @Test func selfLoopAndLongCycle() {
        let g = DependencyGraph(nodes: ["a.1"], edges: [("a.1", "a.1", nil)])
        #expect(throws: CycleError.self) { try g.topologicalOrder() }
        var edges: [(ResourceAddress, ResourceAddress, OttoCore.SourceLocation?)] = []
        let n = 50_000
        let nodes = (0..<n).map { ResourceAddress(kind: "k", name: String($0)) }
        for i in 0..<n { edges.append((nodes[i], nodes[(i + 1) % n], nil)) }
        do {
            _ = try DependencyGraph(nodes: nodes, edges: edges).topologicalOrder()
            Issue.record("expected a cycle")
        } catch let error as CycleError {
            #expect(error.steps.count == n)
        }
    }

    @Test func addressMatching() {
        let a: ResourceAddress = "machine.demo.web[1]"
        #expect(a.matches("machine.demo.web"))
        #expect(a.matches("machine.demo"))
        #expect(!a.matches("machine.dem"))
        #expect(ResourceAddress(parsing: "nodot") == nil)
        #expect(ResourceAddress(parsing: "dns_record.demo.www.CNAME")?.name == "demo.www.CNAME")
    }
}
