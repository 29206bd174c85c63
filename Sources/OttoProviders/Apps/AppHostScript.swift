import Foundation
import OttoCore
import OttoSSH

/// The shell scripts an app's deploy runs on its machines. Every value is quoted with `ShellQuote`; files with
/// content (units, environments) travel over SFTP, never through a shell.
///
/// Layout on a machine: `/srv/apps/APP/releases/N` (the unpacked bundle of release N), `/srv/apps/APP/meta/N.release`
/// (`VERSION DIGEST SLOT CONFIG`), `N.manifest` (sha256 of every file, to find changed files), `N.env` (mode 0600), and
/// `/srv/apps/APP/current` (the release that serves). Each release has its own unit, `otto-app-APP-N.service`.
enum AppHostScript {
    private static func q(_ s: String) -> String { ShellQuote.quote(s) }

    /// Reports, one line each: `current N`, then per release on disk `rel N VERSION DIGEST SLOT CONFIG`, `active N STATE`,
    /// `intact N 0|1`.
    static func probe(_ app: AppDefinition) -> String {
        let d = q(app.root), unitPrefix = q("otto-app-\(app.name)-")
        return """
            d=\(d)
            echo "current $(cat "$d/current" 2>/dev/null || echo 0)"
            for m in "$d"/meta/*.release; do
              [ -f "$m" ] || continue
              n=${m##*/}; n=${n%.release}
              echo "rel $n $(cat "$m")"
              echo "active $n $(systemctl is-active \(unitPrefix)"$n".service 2>/dev/null)"
              if [ -d "$d/releases/$n" ] && (cd "$d/releases/$n" && sha256sum -c --quiet --status "$d/meta/$n.manifest" 2>/dev/null) \\
                 && [ "$(cd "$d/releases/$n" && find . -type f | wc -l)" = "$(wc -l < "$d/meta/$n.manifest")" ]; then
                echo "intact $n 1"; else echo "intact $n 0"; fi
            done
            """
    }

    /// What the probe found about one app on one machine.
    struct Facts: Sendable, Hashable {
        struct Release: Sendable, Hashable {
            var version: String
            var digest: String
            var slot: AppSlot = .a
            var config = ""
            var active: Bool
            var intact: Bool
        }
        var current = 0
        var releases: [Int: Release] = [:]
    }

    static func parseProbe(_ text: String) -> Facts {
        var f = Facts()
        for line in text.split(separator: "\n") {
            let p = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            guard p.count >= 2 else { continue }
            switch p[0] {
            case "current": f.current = Int(p[1]) ?? 0
            case "rel" where p.count >= 4:
                guard let n = Int(p[1]) else { continue }
                f.releases[n, default: .init(version: "", digest: "", active: false, intact: false)].version = p[2]
                f.releases[n]!.digest = p[3]
                if p.count >= 5, let slot = AppSlot(rawValue: p[4]) { f.releases[n]!.slot = slot }
                if p.count >= 6 { f.releases[n]!.config = p[5] }
            case "active" where p.count >= 3:
                guard let n = Int(p[1]) else { continue }
                f.releases[n, default: .init(version: "", digest: "", active: false, intact: false)].active = p[2] == "active"
            case "intact" where p.count >= 3:
                guard let n = Int(p[1]) else { continue }
                f.releases[n, default: .init(version: "", digest: "", active: false, intact: false)].intact = p[2] == "1"
            default: continue
            }
        }
        return f
    }

    /// Unpacks release `n` into its directory, unless it is already there intact. `tarball` is an uploaded .tar.gz
    /// (a project bundle); without one the bundle is downloaded from the app's URL and checked against its digest.
    /// An intact copy of the same digest under another release number (a rollback) is copied instead.
    static func prepare(_ app: AppDefinition, release n: Int, slot: AppSlot, config: String, tarball: String?) -> String {
        let d = q(app.root), r = q(app.releaseDir(n)), digest = q(app.digest), ns = String(n)
        var fetch = ""
        if let tarball {
            fetch = "src=\(q(tarball))"
        } else if let url = app.bundleURL {
            fetch = """
                src="$d/meta/\(ns).tar.gz"
                curl -fsSL --proto =https -o "$src" \(q(url))
                echo \(q(app.digest))"  $src" | sha256sum -c --quiet || { echo "the bundle at \(url) does not have sha256 \(app.digest)" >&2; rm -f "$src"; exit 4; }
                """
        } else {
            // a pinned build (`otto rollback`, `otto release`): only a kept release of its digest can provide it
            fetch = """
                echo \(q("version \(app.version) (sha256 \(app.digest.prefix(12))) is no longer kept in \(app.root)/releases (keep: \(app.keep)); release it from the site's bundle instead")) >&2
                rm -rf "$r.tmp"; exit 5
                """
        }
        return """
            set -e
            d=\(d); r=\(r)
            mkdir -p "$d/releases" "$d/meta"
            intact() { [ -d "$d/releases/$1" ] && (cd "$d/releases/$1" && sha256sum -c --quiet --status "$d/meta/$1.manifest" 2>/dev/null) \\
                && [ "$(cd "$d/releases/$1" && find . -type f | wc -l)" = "$(wc -l < "$d/meta/$1.manifest")" ]; }
            record() { printf '%s %s %s %s\\n' \(q(app.version)) \(digest) \(slot.rawValue) \(q(config)) > "$d/meta/\(ns).release.tmp"; mv "$d/meta/\(ns).release.tmp" "$d/meta/\(ns).release"; }
            if [ -f "$d/meta/\(ns).release" ] && [ "$(cut -d' ' -f2 "$d/meta/\(ns).release")" = \(digest) ] && intact \(ns); then
              # kept as it is; a changed way to run it (environment, command, port) restarts its unit even when it runs
              if [ "$(cut -d' ' -f3- "$d/meta/\(ns).release")" != \(q(slot.rawValue + " " + config)) ]; then record; touch "$d/meta/\(ns).restart"; fi
              echo kept; exit 0
            fi
            rm -rf "$r.tmp"; mkdir -p "$r.tmp"
            copied=
            for m in "$d"/meta/*.release; do
              [ -f "$m" ] || continue
              o=${m##*/}; o=${o%.release}
              if [ "$o" != \(ns) ] && [ "$(cut -d' ' -f2 "$m")" = \(digest) ] && intact "$o"; then cp -a "$d/releases/$o/." "$r.tmp/"; copied=1; break; fi
            done
            if [ -z "$copied" ]; then
            \(fetch)
            tar -xzf "$src" -C "$r.tmp"
            rm -f "$src"
            fi
            (cd "$r.tmp" && find . -type f -print0 | sort -z | xargs -0 -r sha256sum) > "$d/meta/\(ns).manifest.tmp"
            rm -rf "$r"; mv "$r.tmp" "$r"; mv "$d/meta/\(ns).manifest.tmp" "$d/meta/\(ns).manifest"
            record; touch "$d/meta/\(ns).restart"
            echo unpacked
            """
    }

    /// Prints `have` when release `n`, or an intact release of the same digest, is on the machine (no upload
    /// needed), else `need`.
    static func needsBundle(_ app: AppDefinition, release n: Int) -> String {
        let d = q(app.root), digest = q(app.digest)
        return """
            d=\(d)
            for m in "$d"/meta/*.release; do
              [ -f "$m" ] || continue
              o=${m##*/}; o=${o%.release}
              if [ "$(cut -d' ' -f2 "$m")" = \(digest) ] && [ -d "$d/releases/$o" ] \\
                 && (cd "$d/releases/$o" && sha256sum -c --quiet --status "$d/meta/$o.manifest" 2>/dev/null); then echo have; exit 0; fi
            done
            echo need
            """
    }

    /// The systemd unit of release `n`.
    static func unit(_ app: AppDefinition, release n: Int, exec: String) -> String {
        var lines = ["# Written by otto: app \(app.name), release \(n) (\(app.version)).",
                     "[Unit]", "Description=otto app \(app.name) release \(n) (\(app.version))", "After=network.target", "",
                     "[Service]", "Type=simple", "WorkingDirectory=\(app.releaseDir(n))",
                     "EnvironmentFile=\(app.root)/meta/\(n).env", "ExecStart=\(exec)", "Restart=always", "RestartSec=1",
                     "TimeoutStopSec=\(max(5, (app.drainTimeoutMS + 999) / 1000 + 5))"]
        if let user = app.user { lines.append("User=\(user)") }
        lines += ["", "[Install]", "WantedBy=multi-user.target", ""]
        return lines.joined(separator: "\n")
    }

    /// The environment file of release `n` (systemd's syntax, every value double-quoted and escaped).
    static func environment(_ app: AppDefinition, release n: Int, slot: AppSlot) -> String {
        var env = app.environment
        env["APP_NAME"] = app.name
        env["APP_VERSION"] = app.version
        env["APP_RELEASE"] = String(n)
        env["APP_DIGEST"] = app.digest
        env["PORT"] = String(slot.port(base: app.port))
        return env.keys.sorted().map { k in
            let v = env[k]!.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                .replacingOccurrences(of: "\n", with: "\\n").replacingOccurrences(of: "$", with: "$$")
            return "\(k)=\"\(v)\""
        }.joined(separator: "\n") + "\n"
    }

    /// Runs the bundle's hook `name`, if the app names one and the bundle has it, with the release's environment.
    static func hook(_ app: AppDefinition, release n: Int, _ name: String) -> String? {
        guard let path = app.hooks[name] else { return nil }
        let r = q(app.releaseDir(n)), env = q("\(app.root)/meta/\(n).env")
        return "cd \(r) && [ -f \(q(path)) ] || { echo 'hook \(name): \(path) is not in the bundle' >&2; exit 5; }; "
            + "set -a; . \(env); set +a; sh \(q(path))"
    }

    /// Installs the unit (already uploaded) and starts release `n`. A unit already running the same files and
    /// configuration (a deploy killed after it started, run again) is left running: it may be serving traffic.
    /// `prepare` leaves `meta/N.restart` when it unpacked the release or its configuration changed.
    static func start(_ app: AppDefinition, release n: Int) -> String {
        let u = q(app.unitName(n)), marker = q("\(app.root)/meta/\(n).restart")
        return "systemctl daemon-reload && systemctl enable \(u) >/dev/null 2>&1 && "
            + "if systemctl is-active --quiet \(u) && [ ! -e \(marker) ]; then :; else systemctl restart \(u) && rm -f \(marker); fi"
    }

    /// Waits until release `n` answers its health check for `min_healthy_time`, or fails after the deadline
    /// (exit 2) or when its process keeps exiting (exit 3). Prints the last status it saw.
    static func awaitHealthy(_ app: AppDefinition, release n: Int, slot: AppSlot) -> String {
        let h = app.health
        let url = q("http://127.0.0.1:\(slot.port(base: app.port))\(h.path.hasPrefix("/") ? "" : "/")\(h.path)")
        let body = q(h.body ?? ""), u = q(app.unitName(n))
        let timeout = String(format: "%.3f", Double(h.timeoutMS) / 1000), interval = String(format: "%.3f", Double(h.intervalMS) / 1000)
        return """
            ms() { date +%s%3N; }
            deadline=$(( $(ms) + \(h.deadlineMS) )); since=0; code=none; t=$(mktemp)
            trap 'rm -f "$t"' EXIT
            while :; do
              now=$(ms)
              code=$(curl -s -o "$t" -w '%{http_code}' -m \(timeout) \(url) 2>/dev/null) || true
              if [ "$code" = \(h.status) ] && { [ -z \(body) ] || grep -qF -- \(body) "$t"; }; then
                [ "$since" = 0 ] && since=$now
                if [ $((now - since)) -ge \(h.minHealthyMS) ]; then echo "healthy"; exit 0; fi
              else
                since=0
              fi
              if [ "$now" -ge "$deadline" ]; then
                echo "not healthy within the deadline: last answer ${code:-none} from \(app.unitName(n)) ($(systemctl is-active \(u)))"; exit 2
              fi
              sleep \(interval)
            done
            """
    }

    /// Stops release `n` (its before-stop hook first) and keeps it from starting at boot.
    static func stop(_ app: AppDefinition, release n: Int) -> String {
        let u = q(app.unitName(n))
        let hook = self.hook(app, release: n, "before_stop").map { "(\($0)) || true; " } ?? ""
        return "if systemctl is-active --quiet \(u); then \(hook)systemctl stop \(u); fi; systemctl disable \(u) >/dev/null 2>&1 || true"
    }

    /// Records release `n` as the one serving.
    static func markCurrent(_ app: AppDefinition, release n: Int) -> String {
        let d = q(app.root)
        return "mkdir -p \(d) && echo \(n) > \(d)/current.tmp && mv \(d)/current.tmp \(d)/current"
    }

    /// Stops every release but `current` (0: all of them), and removes those not in `keep`: units, directories and
    /// records. No process or port of an earlier release is left behind.
    static func prune(_ app: AppDefinition, current: Int, keep: [Int]) -> String {
        let d = q(app.root), unitPrefix = "otto-app-\(app.name)-"
        let keepList = keep.map(String.init).joined(separator: " ")
        return """
            d=\(d)
            for m in "$d"/meta/*.release; do
              [ -f "$m" ] || continue
              n=${m##*/}; n=${n%.release}
              [ "$n" = \(current) ] && continue
              u=\(q(unitPrefix))"$n".service
              if systemctl is-active --quiet "$u"; then systemctl stop "$u"; fi
              systemctl disable "$u" >/dev/null 2>&1 || true
              case " \(keepList) " in *" $n "*) continue;; esac
              rm -f "/etc/systemd/system/$u"
              rm -rf "$d/releases/$n" "$d/meta/$n.release" "$d/meta/$n.manifest" "$d/meta/$n.env" "$d/meta/$n.tar.gz" "$d/meta/$n.restart"
            done
            systemctl daemon-reload
            """
    }
}
