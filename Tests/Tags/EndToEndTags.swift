import Foundation
import Testing

// Tags of the end-to-end suites: the ones that start real servers or machines or run for long. `make test` runs
// everything; `make test-fast` sets OTTO_TEST_FAST=1, which `.endToEnd` turns into a skip. (`swift test` here filters
// by name only: neither `--filter` nor `--skip` reads tags.) Every end-to-end suite carries both:
// `@Suite(.tags(.powerDNS), .endToEnd)`.

extension Tag {
    /// Local machines (systemd-nspawn, debootstrap, bridges, namespaces; root).
    @Tag public static var machines: Self
    /// A real PowerDNS server (pdns_server).
    @Tag public static var powerDNS: Self
    /// A real moto_server (the AWS emulator).
    @Tag public static var moto: Self
    /// A real OpenSSH server (sshd).
    @Tag public static var sshd: Self
    /// A real haproxy (master-worker, on loopback), driven over its runtime API.
    @Tag public static var haproxy: Self
    /// The fake DigitalOcean API (in-process, on loopback), driven through real otto processes.
    @Tag public static var digitalOcean: Self
    /// A live `otto serve` process, driven over HTTP.
    @Tag public static var liveServer: Self
    /// Performance and scale measurements.
    @Tag public static var performance: Self
    /// The load generator driving the test app `examples/apps/hello` (python3 on loopback); quick, in the fast set.
    @Tag public static var loadGenerator: Self
}

extension Trait where Self == ConditionTrait {
    /// Skips the suite under `make test-fast` (environment OTTO_TEST_FAST=1); `make test` runs it.
    public static var endToEnd: Self {
        .disabled(if: ProcessInfo.processInfo.environment["OTTO_TEST_FAST"] == "1",
                  "end-to-end suite: `make test-fast` skips it, `make test` runs it")
    }
}
