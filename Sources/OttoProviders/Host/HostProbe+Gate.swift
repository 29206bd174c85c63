import Foundation
import OttoCore
import OttoSSH

/// Where a probe keeps what it learnt about a host between runs: an SSH session's memos (`otto serve`'s warm
/// sessions), or anything else that lives as long as one connection.
protocol ProbeMemos: Sendable {
    /// The memo under `key`, if it is a `T`.
    func memo<T: Sendable>(_ key: String, as type: T.Type) -> T?
    /// Keeps `value` under `key` (nil forgets it).
    func setMemo<T: Sendable>(_ key: String, _ value: T?)
}

extension SSHSession: ProbeMemos {}

extension HostProbe {
    /// The memo key of the gate (`GateMemo`).
    static let gateMemo = "host.probe.gate"

    /// One probe of `requests` on one host, as `HostProvider` runs it: the script made with what `memos` hold (each
    /// kind's memo, and with `gated` the gate's), run by `exec` (which returns the script's output or throws), its
    /// output parsed into facts per request, and the memos updated for the next probe.
    static func run(_ requests: [ObserveRequest], memos: some ProbeMemos, gated: Bool,
                    exec: (String) async throws -> String) async throws -> [Facts] {
        let keys = requests.map { "host.probe \($0.address)" }
        let kindMemos = keys.map { memos.memo($0, as: String.self) }
        let gate = gated ? Gate(requests) : nil
        let remembered = gate.flatMap { g in memos.memo(gateMemo, as: GateMemo.self).flatMap { $0.key == g.key ? $0 : nil } }
        let output = try await exec(script(requests, memos: kindMemos, gate: gate, known: remembered.flatMap { $0.confirmed ? $0.listing : nil }))
        var answer = GateAnswer()
        var facts = parse(output, count: requests.count, gate: &answer)
        let same = answer.same && remembered?.confirmed == true
        for (i, r) in requests.enumerated() {
            if same, gate?.gated[i] == true, let remembered {
                facts[i] = remembered.facts[i]  // its paths are as they were: so are its facts (and its kind's memo stays)
                continue
            }
            memos.setMemo(keys[i], HostKinds.table[r.address.kind]?.recall(&facts[i], r.attributes, memo: kindMemos[i]))
        }
        if let gate, !same {
            memos.setMemo(gateMemo, answer.listing.flatMap { Gate.understood($0) ? $0 : nil }.map {
                GateMemo(key: gate.key, listing: $0, confirmed: remembered?.listing == $0, facts: facts)
            })
        }
        return facts
    }
    /// On a warm SSH session (`otto serve`), the probe of every resource whose facts follow from file metadata alone
    /// (`HostKind.watched`: files, directories, dpkg's database) is skipped while that metadata stays the same.
    ///
    /// The script lists the watched paths with one `find` (inode, size, modification and change times in
    /// nanoseconds, mode, owner, group, type and path of each; directories with everything under them). When the listing
    /// equals the one the session remembers, it prints `same` and runs none of the gated probes (no `sha256sum`, `stat`
    /// or `dpkg-query`), and the facts of the probe that listing came from stand; otherwise it runs them all and prints
    /// the new listing.
    ///
    /// Every write changes a file's change time (which no user call can set back), and a file replaced by a rename
    /// has a new inode. A write in the same clock tick as the listing can leave the change time as listed, though, so a
    /// listing is trusted only once it is *confirmed*: seen the same on two probes, the second of which hashed the
    /// files again. That hash was taken at least a tick after the last write the listing shows; a later write gets a
    /// later change time. (A wall clock stepped back can defeat this, as it defeats `make` and git.)
    struct Gate: Sendable {
        /// Per request: whether its probe is gated.
        let gated: [Bool]
        /// The `find` start points (quoted shell words), in request order.
        let paths: [String]
        /// What the gated probes ask, whatever the memos: a remembered listing belongs to this exact set of probes.
        let key: String

        /// The gate for `requests`, or nil when none of them is gated.
        init?(_ requests: [ObserveRequest]) {
            var gated: [Bool] = [], paths: [String] = [], key = ""
            for (i, r) in requests.enumerated() {
                guard let kind = HostKinds.table[r.address.kind], let watched = kind.watched(r.attributes) else {
                    gated.append(false)
                    continue
                }
                gated.append(true)
                paths += watched
                key += kind.probe(index: i, r.attributes) + "\n"
            }
            guard !paths.isEmpty else { return nil }
            self.gated = gated
            self.paths = paths
            self.key = key
        }

        /// The listing's first start point, always there: its line shows that `find` understood `-printf` (a
        /// `find` that does not, such as busybox's, lists nothing, and nothing is gated).
        static let sentinel = "/bin/sh"

        /// True when `listing` came from a `find` that understood the script (its first line is the sentinel's).
        static func understood(_ listing: String) -> Bool {
            listing.prefix { $0 != "\n" }.hasSuffix(" " + sentinel)
        }

        /// The script's first lines: the listing in `$g`, and `G=1` when it equals `known`.
        func head(known: String?) -> String {
            var s = "g=$(find -H \(Self.sentinel) \(paths.joined(separator: " ")) -printf '%i %s %T@ %C@ %m %u %g %y %p\\n' 2>/dev/null)\n"
            s += known.map { "if [ \"$g\" = \(ShellQuote.quote($0)) ]; then G=1; else G=0; fi\n" } ?? "G=0\n"
            return s
        }

        /// Inside the probes' output: `same`, or the listing line by line.
        static let report = "if [ $G = 1 ]; then p - same 1; else printf '%s\\n' \"$g\" | while IFS= read -r l; do p - gate \"$l\"; done; fi"

        /// A gated probe line: run only when the listing changed.
        static func wrap(_ line: String) -> String { "[ $G = 1 ] || {\n\(line)\n}" }
    }

    /// What a session remembers of its last probe with a gate.
    struct GateMemo: Sendable {
        /// The gate's `key` it was made for.
        let key: String
        /// The listing.
        let listing: String
        /// True when the probe before saw the same listing (see `Gate`).
        let confirmed: Bool
        /// The facts of every request of that probe, gated or not (only the gated ones are used).
        let facts: [Facts]
    }

    /// What the script said about the gate: `same`, or the new listing (nil when it printed none).
    struct GateAnswer: Sendable {
        var same = false
        var lines: [String]?

        /// The listing as the shell held it in `$g`.
        var listing: String? { lines?.joined(separator: "\n") }
    }
}
