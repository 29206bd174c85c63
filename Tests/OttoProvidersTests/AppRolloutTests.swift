import OttoCore
@testable import OttoProviders
import Testing

@Suite struct AppRolloutTests {
    @Test func parallelLimitsParseAndSizeBatches() {
        #expect(ParallelLimit(parsing: "2") == .count(2))
        #expect(ParallelLimit(parsing: "50%") == .percent(50))
        #expect(ParallelLimit(parsing: "0") == nil)
        #expect(ParallelLimit(parsing: "101%") == nil)
        #expect(ParallelLimit(parsing: "x") == nil)
        #expect(ParallelLimit.count(5).batchSize(of: 3) == 3)
        #expect(ParallelLimit.percent(50).batchSize(of: 4) == 2)
        #expect(ParallelLimit.percent(10).batchSize(of: 4) == 1)
        #expect(ParallelLimit.percent(30).batchSize(of: 4) == 2)
        #expect(RolloutStrategy(attribute: "rolling:25%") == .rolling(.percent(25)))
        #expect(RolloutStrategy(attribute: "blue-green") == .blueGreen)
        #expect(RolloutStrategy(attribute: "canary") == nil)
        #expect(RolloutStrategy.rolling(.count(2)).attribute == "rolling:2")
    }

    @Test func blueGreenIsOneBatchAndRollingSplitsInOrder() {
        let machines = ["w-0", "w-1", "w-2", "w-3", "w-4"]
        let bg = AppRollout(release: 4, version: "1.1", slot: .b, machines: machines, strategy: .blueGreen, basePort: 8080,
                            previous: AppReleaseRef(number: 3, version: "1.0"))
        #expect(bg.batches == [machines])
        #expect(bg.port == 8081)
        #expect(bg.steps.count == 2)
        #expect(bg.steps[0].contains("all machines"))
        #expect(bg.steps[1].contains("release 3 (1.0)"))
        let rolling = AppRollout(release: 5, version: "1.2", slot: .a, machines: machines, strategy: .rolling(.count(2)), basePort: 8080,
                                 previous: nil)
        #expect(rolling.batches == [["w-0", "w-1"], ["w-2", "w-3"], ["w-4"]])
        #expect(rolling.port == 8080)
        #expect(rolling.steps.last?.contains("first release") == true)
    }

    @Test func slotsAlternateAndNameServers() {
        #expect(AppSlot.a.other == .b)
        #expect(AppSlot.b.portOffset == 1)
        #expect(AppSlot.b.serverName(machine: "demo-web-0") == "demo-web-0_b")
    }

    @Test func probeOutputIsParsed() {
        let f = AppHostScript.parseProbe("""
            current 3
            rel 2 1.0.0 aaaa b cfg1
            active 2 inactive
            intact 2 1
            rel 3 1.1.0 bbbb a cfg2
            active 3 active
            intact 3 0
            """)
        #expect(f.current == 3)
        #expect(f.releases[2] == .init(version: "1.0.0", digest: "aaaa", slot: .b, config: "cfg1", active: false, intact: true))
        #expect(f.releases[3] == .init(version: "1.1.0", digest: "bbbb", slot: .a, config: "cfg2", active: true, intact: false))
    }
}
