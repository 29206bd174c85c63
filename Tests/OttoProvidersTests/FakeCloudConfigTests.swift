import Foundation
import OttoTestSupport
import Testing

/// The fake's minimal cloud-init: the host key and authorized keys of a create's user data, in the forms otto sends
/// (a `#cloud-config`, or a MIME multipart document with the operator's part first), and clear refusals.
@Suite struct FakeCloudConfigTests {
    static let privateKey = """
        -----BEGIN OPENSSH PRIVATE KEY-----
        b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW
        QyNTUxOQAAACBLtDa5mbn0sy+Jy9p5uOrzIwydVsqJ9P0jwwCVRmJWKgAAAIjd2dsX3dnb
        -----END OPENSSH PRIVATE KEY-----
        """
    static let publicKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEu0NrmZufSzL4nL2nm46vMjDJ1Wyon0/SPDAJVGYlYq"

    /// otto's cloud-config: delete the image's keys, generate none, install this pair.
    static var ottoConfig: String {
        let indented = privateKey.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n")
        return "#cloud-config\n# written by otto\nssh_deletekeys: true\nssh_genkeytypes: []\nssh_keys:\n  ed25519_private: |\n\(indented)\n  ed25519_public: \(publicKey) otto\n"
    }

    @Test func noUserDataIsCloudInitsDefaults() throws {
        for data in [nil, "", "  \n"] {
            let config = try FakeCloudConfig.parse(data)
            #expect(config == FakeCloudConfig())
            #expect(config.deleteKeys)
            #expect(config.generateKeyTypes.contains("ed25519"))
            #expect(config.hostPrivateKey == nil)
        }
    }

    @Test func ottosCloudConfigGivesTheHostKeyPair() throws {
        let config = try FakeCloudConfig.parse(Self.ottoConfig)
        #expect(config.deleteKeys)
        #expect(config.generateKeyTypes == [])
        #expect(config.hostPrivateKey == Self.privateKey + "\n")
        #expect(config.hostPublicKey == Self.publicKey + " otto")
        #expect(config.ignored.isEmpty)
        // CRLF line ends read the same.
        #expect(try FakeCloudConfig.parse(Self.ottoConfig.replacingOccurrences(of: "\n", with: "\r\n")) == config)
    }

    @Test func aMultipartDocumentIsReadPartByPart() throws {
        let script = "#!/bin/sh\necho hello > /etc/motd\n"
        let operatorKey = DO.publicKey(9, comment: "operator")
        let userConfig = "#cloud-config\nruncmd: [ls]\nssh_authorized_keys:\n  - \(operatorKey)\n"
        let inner = """
            Content-Type: multipart/mixed; boundary="inner"
            MIME-Version: 1.0

            --inner
            Content-Type: text/x-shellscript; charset="utf-8"

            \(script)
            --inner
            Content-Type: text/cloud-config
            Content-Transfer-Encoding: base64

            \(Data(userConfig.utf8).base64EncodedString())
            --inner--
            """
        let document = """
            Content-Type: multipart/mixed; boundary="otto-1234"
            MIME-Version: 1.0

            --otto-1234
            \(inner)
            --otto-1234
            Content-Type: text/cloud-config; charset="utf-8"
            MIME-Version: 1.0
            Content-Transfer-Encoding: 8bit

            \(Self.ottoConfig)--otto-1234--

            """
        let config = try FakeCloudConfig.parse(document)
        #expect(config.hostPrivateKey == Self.privateKey + "\n")
        #expect(config.hostPublicKey == Self.publicKey + " otto")
        #expect(config.generateKeyTypes == [])
        #expect(config.authorizedKeys == [operatorKey])
        #expect(config.ignored.count == 2)
        #expect(config.ignored.contains { $0.contains("text/x-shellscript (not run)") })
        #expect(config.ignored.contains { $0.contains("cloud-config key runcmd") })

        // A script alone is not run (and not an error: cloud-init would run it after sshd is up).
        #expect(try FakeCloudConfig.parse(script).ignored == ["user data: a script (not run)"])
    }

    @Test func userDataThatCannotBeUsedIsRefusedWithAReason() {
        func reason(_ data: String) -> String {
            do {
                _ = try FakeCloudConfig.parse(data)
                return "accepted"
            } catch {
                return error.message
            }
        }
        #expect(reason("hello world").contains("neither a #cloud-config document"))
        #expect(reason("#include https://example.test/x").contains("neither a #cloud-config document"))
        #expect(reason("#cloud-config\nssh_keys: [a, b]\n").contains("ssh_keys is not a mapping"))
        #expect(reason("#cloud-config\nssh_keys:\n  rsa_private: x\n").contains("ssh_keys.rsa_private cannot be used"))
        #expect(reason("#cloud-config\nssh_keys:\n  ed25519_public: \(Self.publicKey)\n").contains("ed25519_public without ed25519_private"))
        #expect(reason("#cloud-config\nssh_keys:\n  ed25519_private: not a key\n  ed25519_public: \(Self.publicKey)\n")
            .contains("is not a private key"))
        #expect(reason("#cloud-config\nssh_keys:\n  ed25519_private: |\n\(Self.privateKey.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))\n  ed25519_public: ssh-rsa AAAA\n")
            .contains("is not an `ssh-ed25519 AAAA…` line"))
        #expect(reason("#cloud-config\nssh_deletekeys: maybe\n").contains("ssh_deletekeys must be true or false"))
        #expect(reason("#cloud-config\nssh_genkeytypes: ed25519\n").contains("ssh_genkeytypes must be a list"))
        #expect(reason("#cloud-config\nssh_keys: {\n").contains("not valid YAML"))
        #expect(reason("#cloud-config\n- a\n- b\n").contains("not a mapping of keys"))
        #expect(reason("#cloud-config\nssh_authorized_keys: [\"hello\"]\n").contains("not a public key line"))
        #expect(reason("Content-Type: multipart/mixed\n\n--x\n\n#cloud-config\n--x--\n").contains("without a boundary"))
        #expect(reason("Content-Type: multipart/mixed; boundary=x\n\n--x\nContent-Type: text/cloud-config\n\n#cloud-config\n").contains("does not end with --x--"))
        #expect(reason("Content-Type: multipart/mixed; boundary=x\n\n--x\nContent-Type: text/cloud-config\nContent-Transfer-Encoding: quoted-printable\n\n#cloud-config\n--x--\n")
            .contains("quoted-printable is not supported"))
    }
}
