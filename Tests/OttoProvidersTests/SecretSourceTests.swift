import Foundation
import OttoCore
import OttoTestSupport
import Testing
@testable import OttoProviders

@Suite struct SecretSourceTests {
    @Test func readsEnvironmentFirstThenFile() throws {
        let dir = try TempDir(prefix: "otto-secret")
        defer { dir.cleanup() }
        dir.write("key.txt", "file-secret\n")

        #expect(try SecretSource.resolve(env: "PDNS_KEY", file: nil, root: dir.path, environment: ["PDNS_KEY": " env-secret "]) == "env-secret")
        #expect(try SecretSource.resolve(env: "PDNS_KEY", file: "key.txt", root: dir.path, environment: [:]) == "file-secret")
        #expect(try SecretSource.resolve(env: nil, file: dir.path + "/key.txt", root: "/", environment: [:]) == "file-secret")
    }

    @Test func errorsNameTheSourceNeverTheValue() throws {
        let missingEnv = #expect(throws: OttoError.self) {
            try SecretSource.resolve(env: "PDNS_API_KEY", file: nil, root: "/", environment: ["OTHER": "value-xyz"])
        }
        #expect(missingEnv?.code == "secret.env_missing")
        #expect(missingEnv?.message.contains("PDNS_API_KEY") == true)

        let missingFile = #expect(throws: OttoError.self) {
            try SecretSource.resolve(env: nil, file: "nope/key.txt", root: "/tmp/otto-none", environment: [:])
        }
        #expect(missingFile?.code == "secret.file_unreadable")
        #expect(missingFile?.message.contains("/tmp/otto-none/nope/key.txt") == true)

        let dir = try TempDir(prefix: "otto-secret")
        defer { dir.cleanup() }
        dir.write("empty", "  \n")
        let empty = #expect(throws: OttoError.self) { try SecretSource.resolve(env: nil, file: "empty", root: dir.path, environment: [:]) }
        #expect(empty?.code == "secret.empty")

        let none = #expect(throws: OttoError.self) { try SecretSource.resolve(env: nil, file: nil, root: "/", environment: [:]) }
        #expect(none?.code == "secret.unspecified")
    }
}
