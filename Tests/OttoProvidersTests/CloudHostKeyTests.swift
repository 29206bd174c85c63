import Foundation
import OttoCore
import OttoTestSupport
import Testing
@testable import OttoProviders

/// The pieces of pinned host keys for cloud machines that need no machine: the key otto makes, the user data that
/// carries it, and the tags that pin it.
@Suite struct CloudHostKeyTests {
    /// The private key file is one OpenSSH reads, and its public half is the one otto pins.
    @Test func generatedKeyIsAValidOpenSSHKeyPair() async throws {
        let key = HostKeyPair.generate(comment: "root@web-0")
        #expect(key.publicKey.hasPrefix("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI"))
        #expect(key.privateKeyFile.hasPrefix("-----BEGIN OPENSSH PRIVATE KEY-----\n"))
        #expect(!String(describing: key).contains("PRIVATE"))
        do {
            let dir = try TempDir()
            let path = dir.file("key")
            #expect(FileManager.default.createFile(atPath: path, contents: Data(key.privateKeyFile.utf8), attributes: [.posixPermissions: 0o600]))
            let derived = try await runProcess(["ssh-keygen", "-y", "-f", path])
            #expect(derived.status == 0, "\(derived.stderr)")
            let fields = derived.stdout.split(separator: " ")
            #expect(fields.count >= 2 && "\(fields[0]) \(fields[1])" == key.publicKey)
            #expect(derived.stdout.contains("root@web-0"))
        }
        #expect(HostKeyPair.generate().publicKey != key.publicKey)
    }

    @Test func userDataWithoutTheOperatorsIsOttosCloudConfig() throws {
        let key = HostKeyPair.generate()
        let data = try CloudInitUserData.merged(user: nil, hostKey: key, machine: "m")
        #expect(data.hasPrefix("#cloud-config\n"))
        #expect(data.contains("ssh_deletekeys: true\n"))
        #expect(data.contains("ssh_genkeytypes: []\n"))
        #expect(data.contains("  ed25519_public: \(key.publicKey) otto\n"))
        #expect(data.contains("  ed25519_private: |\n    -----BEGIN OPENSSH PRIVATE KEY-----\n"))
        #expect(data.contains("    -----END OPENSSH PRIVATE KEY-----\n"))
        #expect(try CloudInitUserData.merged(user: "  \n", hostKey: key, machine: "m") == data)
        #expect(!data.contains("disable_root"))
        #expect(try CloudInitUserData.merged(user: nil, hostKey: key, machine: "m", rootLogin: true).contains("\ndisable_root: false\nssh_deletekeys: true\n"))
    }

    /// The operator's user data is kept byte for byte, as the first part of a MIME document; otto's part comes last.
    @Test func operatorsUserDataIsMergedNotOverwritten() throws {
        let key = HostKeyPair.generate()
        for (user, type) in [("#!/bin/sh\necho hello > /etc/motd\n", "text/x-shellscript"),
                             ("#cloud-config\npackages: [nginx]\nruncmd:\n  - [touch, /ok]\n", "text/cloud-config")] {
            let data = try CloudInitUserData.merged(user: user, hostKey: key, machine: "m")
            #expect(data.hasPrefix("Content-Type: multipart/mixed; boundary=\""))
            let boundary = String(data.split(separator: "\"")[1])
            let parts = data.components(separatedBy: "--" + boundary)
            #expect(parts.count == 4)  // preamble, the operator's, otto's, the closing "--"
            #expect(parts[1].contains("Content-Type: \(type)"))
            #expect(parts[1].hasSuffix("\n\n" + user))
            #expect(parts[2].contains("Content-Type: text/cloud-config"))
            #expect(parts[2].contains(key.publicKey))
            #expect(parts[3].hasPrefix("--"))
        }
        let mime = "Content-Type: multipart/mixed; boundary=\"x\"\nMIME-Version: 1.0\n\n--x\nContent-Type: text/x-shellscript\n\n#!/bin/sh\ntrue\n--x--\n"
        let nested = try CloudInitUserData.merged(user: mime, hostKey: key, machine: "m")
        #expect(nested.contains("\n" + mime))
    }

    @Test func userDataThatSetsHostKeysOrIsUnknownIsRefused() {
        let key = HostKeyPair.generate()
        #expect(throws: OttoError.self) { try CloudInitUserData.merged(user: "#cloud-config\nssh_keys:\n  rsa_private: x\n", hostKey: key, machine: "m") }
        do {
            _ = try CloudInitUserData.merged(user: "#cloud-config\nssh_deletekeys: false\n", hostKey: key, machine: "machine.demo.web[0]")
            Issue.record("expected an error")
        } catch let error as OttoError {
            #expect(error.code == "provider.user_data")
            #expect(error.message.contains("machine.demo.web[0]: user_data sets `ssh_deletekeys`"))
            #expect(error.message.contains("host_keys: known_hosts"))
        } catch { Issue.record("unexpected \(error)") }
        #expect(throws: OttoError.self) { try CloudInitUserData.merged(user: "just some text", hostKey: key, machine: "m") }
    }

    /// DigitalOcean tags hold the key in base64url (tag names allow no `+`, `/` or `=`); the round trip is exact.
    @Test func dropletTagsRoundTripThePins() throws {
        let boot = HostKeyPair.generate().publicKey, next = HostKeyPair.generate().publicKey
        let bootTag = try #require(HostKeyPins.dropletTag(boot, boot: true))
        let nextTag = try #require(HostKeyPins.dropletTag(next, boot: false))
        #expect(bootTag.hasPrefix("otto-hostkey-boot:") && nextTag.hasPrefix("otto-hostkey:"))
        for tag in [bootTag, nextTag] {
            #expect(tag.count <= 255)
            #expect(tag.allSatisfy { $0.isLetter || $0.isNumber || "-_:".contains($0) })
        }
        let booting = HostKeyPins(dropletTags: ["otto", "otto-key-abc", bootTag])
        #expect(booting.boot == boot && booting.current.isEmpty && booting.pending)
        #expect(booting.attribute == .string(boot))
        let rotating = HostKeyPins(dropletTags: [nextTag, bootTag])
        #expect(rotating.attribute == .string(next + "\n" + boot))
        let done = HostKeyPins(dropletTags: [nextTag])
        #expect(!done.pending && done.attribute == .string(next))
        #expect(HostKeyPins(dropletTags: ["otto"]).attribute == .null)
        #expect(HostKeyPins.dropletTag("ssh-rsa AAAAB3NzaC1yc2E=", boot: false) == nil)
        let aws = HostKeyPins(instanceTags: [HostKeyPins.awsBootTag: boot, HostKeyPins.awsTag: next, "Name": "web-0"])
        #expect(aws.pending && aws.all == [next, boot])
    }

    @Test func hostKeysSetting() throws {
        #expect(try HostKeyMode(setting: nil, place: "p") == .pinned)
        #expect(try HostKeyMode(setting: "known_hosts", place: "p") == .knownHosts)
        #expect(throws: OttoError.self) { try HostKeyMode(setting: "off", place: "p") }
    }
}
