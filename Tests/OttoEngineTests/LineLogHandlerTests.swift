import Foundation
import Logging
import OttoEngine
import Synchronization
import Testing

@Suite struct LineLogHandlerTests {
    final class Lines: Sendable {
        let all = Mutex<[String]>([])
        func add(_ line: String) { all.withLock { $0.append(line) } }
    }

    @Test func jsonIsOneObjectPerLineWithTheMetadataAsFields() throws {
        let lines = Lines()
        var logger = Logger(label: "otto.drift") { LineLogHandler(label: $0, format: .json, write: lines.add) }
        logger[metadataKey: "site"] = "shop"
        logger.info("scheduled run: 2 corrected", metadata: ["outcome": "ok", "address": "file.shop.\"motd\"\nx"])
        logger.debug("not written at info")
        let written = lines.all.withLock { $0 }
        #expect(written.count == 1)
        let line = try #require(written.first)
        #expect(line.hasSuffix("}\n") && line.filter { $0 == "\n" }.count == 1)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String])
        #expect(object["message"] == "scheduled run: 2 corrected")
        #expect(object["level"] == "info" && object["logger"] == "otto.drift")
        #expect(object["outcome"] == "ok" && object["site"] == "shop")
        #expect(object["address"] == "file.shop.\"motd\"\nx")
        #expect(object["@timestamp"]?.range(of: #"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$"#, options: .regularExpression) != nil)
    }

    @Test func textIsOneReadableLine() {
        let line = LineLogHandler.line(format: .text, date: Date(timeIntervalSince1970: 0), level: .error, label: "otto",
                                       message: "failed", metadata: ["error": "refused: HTTP 500", "run": "7"])
        #expect(line == "1970-01-01T00:00:00.000Z error otto: failed error=\"refused: HTTP 500\" run=7\n")
    }
}
