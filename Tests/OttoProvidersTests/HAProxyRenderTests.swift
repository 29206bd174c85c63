import Foundation
import OttoCore
@testable import OttoProviders
import OttoTestSupport
import Testing

/// haproxy.cfg as otto renders it for a load balancer: apps laid out in two slots per machine, the runtime state kept
/// across reloads, and haproxy itself (`haproxy -c`) accepting the result.
@Suite struct HAProxyRenderTests {
    /// The `apps` attribute as the site expansion writes it: two slots per machine of the app's group.
    static func app(_ name: String, bind: String, port: Int, machines: [(String, String)]) -> Value {
        let slots: [Value] = machines.flatMap { machine, address in
            AppSlot.allCases.map { slot in
                Value.map(["name": .string(slot.serverName(machine: machine)), "address": .string(address), "port": .int(slot.port(base: port))])
            }
        }
        return ["name": .string(name), "bind": .string(bind), "balance": "roundrobin", "health_path": "/healthz",
                "health_interval_ms": 1000, "slots": .list(slots)]
    }

    static let site: [String: Value] = [
        "name": "demo", "bind": ":80", "balance": "roundrobin", "backend": "web", "health_path": "/healthz", "health_interval_ms": 2000,
        "servers": [["name": "demo-web-0", "address": "10.213.0.2", "port": 80], ["name": "demo-web-1", "address": "10.213.0.3", "port": 80]],
    ]

    @Test func appsGetAFrontendAndABackendWithTwoSlotsPerMachine() throws {
        var attrs = Self.site
        attrs["apps"] = [Self.app("hello", bind: ":8080", port: 8080, machines: [("demo-web-0", "10.213.0.2"), ("demo-web-1", "10.213.0.3")])]
        let text = try #require(HostRender.haproxy(attrs))
        #expect(text.contains("""
            frontend app_hello
                bind :8080
                default_backend app_hello

            backend app_hello
                balance roundrobin
                option http-server-close
                option httpchk GET /healthz
                default-server inter 1000ms fall 2 rise 2
                server demo-web-0_a 10.213.0.2:8080 check
                server demo-web-0_b 10.213.0.2:8081 check
                server demo-web-1_a 10.213.0.3:8080 check
                server demo-web-1_b 10.213.0.3:8081 check

            """))
        // What keeps runtime state across reloads, and hitless reloads.
        #expect(text.contains("    stats socket /run/haproxy/admin.sock mode 660 level admin expose-fd listeners\n"))
        #expect(text.contains("    server-state-file /var/lib/haproxy/server-state\n"))
        for line in ["load-server-state-from-file global", "retries 3", "option redispatch"] {
            #expect(text.contains("\n    \(line)\n"), "defaults lack \(line)")
        }
        // The site's own frontend is still there, and no app means no app section.
        #expect(text.contains("    server demo-web-1 10.213.0.3:80 check\n"))
        #expect(try #require(HostRender.haproxy(Self.site)).contains("app_") == false)
    }

    @Test func anAppSlotWithoutItsAddressYetRendersNothing() {
        var attrs = Self.site
        attrs["apps"] = [["name": "hello", "bind": ":8080",
                          "slots": [["name": "m_a", "address": .ref(.init("machine.s.web[0]", "ipv4")), "port": 8080]]]]
        #expect(HostRender.haproxy(attrs) == nil)
        attrs["apps"] = [["name": "hello world", "bind": ":8080", "slots": []]]
        #expect(HostRender.haproxy(attrs) == nil, "a name haproxy would split")
    }

    @Test func theSchemaTakesApps() throws {
        let schema = try #require(HostProvider.kindSchemas.first { $0.kind == "haproxy" })
        let apps = try #require(schema.attributes?.first { $0.name == "apps" })
        #expect(apps.type == .list(.map(.any)))
    }

    @Test func slotsFollowTheReleaseNumber() {
        #expect(AppSlot(release: 1) == .a)
        #expect(AppSlot(release: 2) == .b)
        #expect(AppSlot(release: 7) == .a)
        #expect(AppSlot.b.port(base: 8080) == 8081)
        #expect(AppSlot.a.other == .b)
        #expect(AppSlot.b.serverName(machine: "demo-web-0") == "demo-web-0_b")
        #expect(AppSlot.proxyName(app: "hello") == "app_hello")
    }

    /// The exact file a load balancer gets (Debian's layout: chroot, user, admin socket), with apps, passes haproxy's
    /// own check.
    @Test func haproxyAcceptsTheRenderedConfigurationWithApps() async throws {
        var attrs = Self.site
        attrs["apps"] = [Self.app("hello", bind: ":8080", port: 8080, machines: [("demo-web-0", "10.213.0.2"), ("demo-web-1", "10.213.0.3")]),
                         Self.app("api", bind: "127.0.0.1:9090", port: 9000, machines: [("demo-web-0", "10.213.0.2")])]
        let text = try #require(HostRender.haproxy(attrs))
        let scratch = try TempDir(prefix: "otto-haproxy-check")
        defer { scratch.cleanup() }
        let path = scratch.write("haproxy.cfg", text)
        let r = try await runProcess(["/usr/sbin/haproxy", "-c", "-f", path])
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("Configuration file is valid"), "\(r.stdout)\(r.stderr)")
    }
}

/// Parsing haproxy's runtime API answers (captured from haproxy 2.6), without a running haproxy.
@Suite struct HAProxyRuntimeParsingTests {
    static let serversState = """
        1
        # be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port
        3 app_hello 1 w0_a 127.0.0.1 2 8 1 1 4 15 3 4 6 0 0 0 - 18081 - 0 0 - - 0
        3 app_hello 2 w0_b 127.0.0.1 0 1 7 1 4 8 2 0 14 0 0 0 - 18082 - 0 0 - - 0
        4 other 1 x 10.0.0.9 2 0 1 1 4 15 3 4 6 0 0 0 - 80 - 0 0 - - 0


        """

    @Test func serversStateRowsAreTyped() throws {
        let rows = try HAProxyServerState.parse(Self.serversState)
        #expect(rows == [
            HAProxyServerState(backend: "app_hello", server: "w0_a", address: "127.0.0.1", port: 18081, adminState: .drain, adminBits: 8,
                               operationalState: .running, weight: 1),
            HAProxyServerState(backend: "app_hello", server: "w0_b", address: "127.0.0.1", port: 18082, adminState: .maint, adminBits: 1,
                               operationalState: .stopped, weight: 7),
            HAProxyServerState(backend: "other", server: "x", address: "10.0.0.9", port: 80, adminState: .ready, adminBits: 0,
                               operationalState: .running, weight: 1),
        ])
        #expect(throws: OttoError.self) { try HAProxyServerState.parse("Unknown command.\n") }
    }

    @Test func adminBitsMeanReadyDrainOrMaint() {
        #expect(HAProxyAdminState(adminBits: 0) == .ready)
        #expect(HAProxyAdminState(adminBits: 0x08) == .drain)
        #expect(HAProxyAdminState(adminBits: 0x10) == .drain)
        #expect(HAProxyAdminState(adminBits: 0x01) == .maint)
        #expect(HAProxyAdminState(adminBits: 0x09) == .maint, "maint wins over drain")
        #expect(HAProxyAdminState(adminBits: 0x04) == .maint, "disabled in the configuration")
        #expect(HAProxyAdminState(adminBits: 0x40) == .ready, "a hostname set over the API is not maintenance")
    }

    @Test func statRowsAreTyped() throws {
        let text = """
            # pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,
            app_hello,FRONTEND,,,2,3,9984,40,0,0,0,0,0,,,,,OPEN,,,,,,,,,1,2,0,,,,0,0,0,0,,,,0,37,0,0,3,0,
            app_hello,w0_a,0,0,1,2,,20,0,0,,0,,4,1,0,0,UP 1/2,1,1,0,1,1,0,0,,1,3,1,,0,,2,0,,0,L7OK,200,0,0,18,0,0,2,0,
            app_hello,w0_b,0,0,0,0,,0,0,0,,0,,0,0,0,0,DRAIN,1,1,0,1,1,0,0,,1,3,2,,0,,2,0,,0,L4CON,,0,0,0,0,0,0,0,
            app_hello,w0_c,0,0,0,0,,0,0,0,,0,,0,0,0,0,MAINT (via app_hello/w0_a),1,1,0,1,1,0,0,,1,3,2,,0,,2,0,,0,,,0,0,0,0,0,0,0,
            app_hello,BACKEND,0,0,1,2,1000,20,0,0,0,0,,4,1,0,0,UP,1,1,0,,0,0,0,,1,3,0,,0,,1,0,,0,,,,0,18,0,0,2,0,

            """
        let rows = try HAProxyStat.parse(text)
        #expect(rows.map(\.type) == [.frontend, .server, .server, .server, .backend])
        #expect(rows.map(\.status) == [.open, .up, .drain, .maint, .up])
        let a = rows[1]
        #expect(a.proxy == "app_hello" && a.name == "w0_a")
        #expect(a.currentSessions == 1 && a.totalSessions == 20)
        #expect(a.responses2xx == 18 && a.responses5xx == 2)
        #expect(a.connectionErrors == 4 && a.responseErrors == 1)
        #expect(a.checkStatus == "L7OK")
        #expect(rows[3].checkStatus == nil)
        #expect(HAProxyStatus("no check") == .noCheck)
        #expect(HAProxyStatus("NOLB") == .noLB)
        #expect(HAProxyStatus("DOWN 1/2") == .down)
        #expect(HAProxyStatus("FULL") == .other("FULL"))
        #expect(throws: OttoError.self) { try HAProxyStat.parse("Permission denied\n") }
    }

    @Test func namesThatWouldSplitACommandAreRefusedBeforeSending() {
        for bad in ["", "a b", "a;shutdown sessions server x/y", "a\\b", "a\nb"] {
            #expect(throws: OttoError.self) { try HAProxyRuntime.word(bad) }
        }
        #expect((try? HAProxyRuntime.word("demo-web-0_a")) == "demo-web-0_a")
    }
}
