import Foundation
import OttoSSH
import OttoTestSupport
import OttoTestTags
import Synchronization
import Testing

@Suite("SSH upload", .tags(.sshd), .endToEnd)
struct SSHUploadTests {
    @Test func modeAndOwner() async throws {
        try await withServer { server in
            try await withSession(server) { session in
                let dir = server.directory + "/files"
                _ = try await session.exec("mkdir -p \(ShellQuote.quote(dir))")
                let path = dir + "/app.conf"
                try await session.upload(Array("key = value\n".utf8), to: path, mode: 0o640, owner: "nobody", group: "nogroup")
                let stat = try await session.exec("stat -c '%U:%G %a' \(ShellQuote.quote(path)); cat \(ShellQuote.quote(path))")
                #expect(stat.stdoutText == "nobody:nogroup 640\nkey = value\n")

                // Replacing an existing file (SFTP v3 rename cannot; the mv fallback must), with a new mode and owner.
                try await session.upload(Array("second\n".utf8), to: path, mode: 0o600, owner: "root")
                let again = try await session.exec("stat -c '%U:%G %a' \(ShellQuote.quote(path)); cat \(ShellQuote.quote(path))")
                #expect(again.stdoutText == "root:root 600\nsecond\n")  // a new file: the group is root's

                try await session.upload([], to: dir + "/empty", mode: 0o755, group: "nogroup")
                let empty = try await session.exec("stat -c '%U:%G %a %s' \(ShellQuote.quote(dir + "/empty"))")
                #expect(empty.stdoutText == "root:nogroup 755 0\n")

                let leftovers = try await session.exec("ls -A \(ShellQuote.quote(dir))")
                #expect(leftovers.stdoutText == "app.conf\nempty\n")
            }
        }
    }

    @Test func hostileContentArrivesByteForByteAndNothingRuns() async throws {
        try await withServer { server in
            try await withSession(server) { session in
                let marker = server.directory + "/pwned"
                var content = Array("it's \"quoted\" $(touch \(marker)) `touch \(marker)` ${HOME} \\ \n\nline\r\n".utf8)
                content += [0, 1, 0, 255, 0x27, 0x22, 0x60, 0x24, 0x28, 0]
                content += Array("'; touch \(marker); echo '".utf8)
                let path = server.directory + "/it's a $(file) `name`"
                try await session.upload(content, to: path, mode: 0o644, owner: "root", group: "root")
                let back = try await session.exec("cat \(ShellQuote.quote(path))")
                #expect(back.stdout == content)
                let exists = try await session.exec("test -e \(ShellQuote.quote(marker))")
                #expect(exists.status == 1)
                #expect(!FileManager.default.fileExists(atPath: marker))
                #expect(FileManager.default.contents(atPath: path).map { [UInt8]($0) } == content)
            }
        }
    }

    @Test func renameIsAtomicAndTheTempFileSitsInTheSameDirectory() async throws {
        try await withServer { server in
            let writer = try await SSHSession.connect(server.target())
            let watcher = try await SSHSession.connect(server.target())
            defer { Task { await writer.close(); await watcher.close() } }
            let dir = server.directory + "/atomic"
            _ = try await writer.exec("mkdir -p \(ShellQuote.quote(dir))")
            let path = dir + "/big.bin"
            let size = 8 << 20
            let versions: [[UInt8]] = [UInt8(ascii: "a"), UInt8(ascii: "b"), UInt8(ascii: "c"), UInt8(ascii: "d")]
                .map { [UInt8](repeating: $0, count: size) }
            try await writer.upload(versions[0], to: path, mode: 0o644)

            // While new versions are uploaded, the watcher keeps looking at the directory and the file.
            let done = DoneFlag()
            let uploads = Task {
                defer { done.set() }
                for version in versions.dropFirst() { try await writer.upload(version, to: path, mode: 0o644) }
            }
            let probe = "ls -A \(ShellQuote.quote(dir)); echo --; head -c 1 \(ShellQuote.quote(path)); tail -c 1 \(ShellQuote.quote(path)); "
                + "stat -c %s \(ShellQuote.quote(path))"
            var observations: [String] = []
            var sawTemp = false
            while true {
                let finished = done.isSet
                let seen = try await watcher.exec(probe)
                observations.append(seen.stdoutText)
                if seen.stdoutText.contains(".big.bin.otto-") { sawTemp = true }
                if finished { break }
            }
            try await uploads.value
            for text in observations {
                let parts = text.components(separatedBy: "--\n")
                #expect(parts.count == 2)
                guard parts.count == 2 else { continue }
                let body = parts[1]
                // The file is always one whole version: same first and last byte, full size.
                let valid = ["a", "b", "c", "d"].map { "\($0)\($0)\(size)\n" }
                #expect(valid.contains(body), "partial file visible: \(body)")
                for name in parts[0].split(separator: "\n") {
                    #expect(name == "big.bin" || name.hasPrefix(".big.bin.otto-"), "unexpected entry \(name)")
                }
            }
            #expect(observations.count >= 2)
            #expect(sawTemp, "the temporary file never showed up next to the target in \(observations.count) looks")
            let final = try await watcher.exec("ls -A \(ShellQuote.quote(dir)); head -c 1 \(ShellQuote.quote(path))")
            #expect(final.stdoutText == "big.bin\nd")
        }
    }

    @Test func uploadIntoAMissingDirectoryNamesTheSFTPStatus() async throws {
        try await withServer { server in
            try await withSession(server) { session in
                let error = await sshError {
                    try await session.upload([1, 2, 3], to: server.directory + "/no/such/dir/file", mode: 0o644)
                }
                #expect(error?.code == "ssh.sftp")
                #expect(error?.message.contains("no such file") == true)
            }
        }
    }
}

/// A flag set by one task and read by another.
final class DoneFlag: Sendable {
    private let value = Atomic<Bool>(false)
    var isSet: Bool { value.load(ordering: .acquiring) }
    func set() { value.store(true, ordering: .releasing) }
}
