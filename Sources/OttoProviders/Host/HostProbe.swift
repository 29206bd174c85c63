import Foundation
import OttoCore
import OttoSSH

/// One shell script that reports, in a single round trip, every fact the plan needs about every host resource on
/// one machine: file hashes and modes, directory listings with hashes, package and service states.
///
/// Output lines are `INDEX<TAB>KEY<TAB>VALUE`; every path and name in the script is quoted with `ShellQuote`.
enum HostProbe {
    /// Facts about one resource.
    struct Facts: Sendable {
        var values: [String: String] = [:]
        var packages: [String: String] = [:]   // name → dpkg status ("installed", ...)
        var files: [String: String] = [:]      // relative path → sha256 (directories)
        var fileModes: [String: String] = [:]  // relative path → octal mode (directories)
        var dirModes: Set<String> = []         // distinct modes of the directory and its subdirectories
        var missing = false
    }

    /// The script for `requests` (index = position in the list). `memos[i]`, when given, is what the probe of request `i`
    /// left on the same SSH session before (`HostKind.recall`): a kind may then skip work whose source is unchanged.
    ///
    /// Every process started on the host counts (in `otto serve`, a no-change pass is this script on every host): `f`
    /// writes the hash and the stat line straight after its tag (no command substitution, no `cut`), and `u` asks
    /// systemd once per unit (`systemctl show`), falling back to `systemctl is-enabled` for a unit systemd generated
    /// (a SysV script, whose enablement only `is-enabled` reads from the rc links).
    ///
    /// The probes' output is collected in the shell (`o=$(...)`) and written once at the end: one process per fact
    /// writing its own line would reach sshd as one channel packet each, and every packet wakes the controller's session
    /// thread (in `otto serve`, 20 hosts × ~8 packets a pass). The script exits with the probes' last status, as before.
    ///
    /// With `gate` (a warm session), the gated probes run only when the watched paths' listing is not `known`
    /// (see `Gate`).
    static func script(_ requests: [ObserveRequest], memos: [String?] = [], gate: Gate? = nil, known: String? = nil) -> String {
        var s = """
            p() { printf '%s\\t%s\\t%s\\n' "$1" "$2" "$3"; }
            f() { if [ -f "$2" ]; then printf '%s\\tsha\\t' "$1"; sha256sum < "$2" || echo; printf '%s\\tstat\\t' "$1"; stat -c '%a %U %G' -- "$2" || echo; else p "$1" missing 1; fi; }
            u() { systemctl show -p UnitFileState -p ActiveState -- "$2" 2>/dev/null | while IFS='=' read -r k v; do case $k in ActiveState) p "$1" active "$v";; UnitFileState) [ "$v" != generated ] || v=$(systemctl is-enabled -- "$2" 2>/dev/null); p "$1" enabled "$v";; esac; done; }

            """
        if let gate { s += gate.head(known: known) }
        s += "o=$(\ntrue\n"
        if gate != nil { s += Gate.report + "\n" }
        for (i, r) in requests.enumerated() {
            let memo = i < memos.count ? memos[i] : nil
            let line = HostKinds.table[r.address.kind]?.probe(index: i, r.attributes, memo: memo) ?? "p \(i) missing 1"
            s += (gate?.gated[i] == true ? Gate.wrap(line) : line) + "\n"
        }
        s += """
            )
            s=$?
            [ -z "$o" ] || printf '%s\\n' "$o"
            exit $s

            """
        return s
    }

    /// The script that reads the text of the files at `paths` (request index → path), for plans to show a diff: each
    /// regular file of at most `TextDiff`'s 256 KiB as base64 (`text`), anything else as `big`.
    static func textScript(_ paths: [(index: Int, path: String)]) -> String {
        var s = """
            p() { printf '%s\\t%s\\t%s\\n' "$1" "$2" "$3"; }
            t() { if [ -f "$2" ] && [ "$(wc -c < "$2")" -le \(maxTextBytes) ]; then p "$1" text "$(base64 -w0 < "$2")"; else p "$1" big 1; fi; }

            """
        for (i, path) in paths { s += "t \(i) \(ShellQuote.quote(path))\n" }
        return s
    }

    /// The largest file whose text is read for a diff (256 KiB, `TextDiff.maxBytes` in OttoPlan).
    static let maxTextBytes = 256 * 1024

    /// The texts `textScript`'s output carries, by request index: UTF-8 text without NUL bytes only (binary files and
    /// files too large are left out).
    static func texts(_ output: String, count: Int) -> [Int: String] {
        var out: [Int: String] = [:]
        for (i, f) in parse(output, count: count).enumerated() {
            guard let b64 = f.values["text"], let data = Data(base64Encoded: b64), !data.contains(0),
                  let text = String(data: data, encoding: .utf8) else { continue }
            out[i] = text
        }
        return out
    }

    /// Parses the script's output into facts per request index.
    ///
    /// Lines are split on their UTF-8 bytes (newline and tab are single bytes in UTF-8 and never part of another
    /// character), not on `Character`s: `otto serve` parses every host's output on every pass.
    static func parse(_ output: String, count: Int) -> [Facts] {
        var gate = GateAnswer()
        return parse(output, count: count, gate: &gate)
    }

    /// Parses the script's output into facts per request index, and what it said about the gate (lines of index `-`).
    static func parse(_ output: String, count: Int, gate: inout GateAnswer) -> [Facts] {
        var facts = [Facts](repeating: Facts(), count: count)
        let newline = UInt8(ascii: "\n"), tab = UInt8(ascii: "\t"), dash = UInt8(ascii: "-")
        for line in output.utf8.split(separator: newline, omittingEmptySubsequences: true) {
            guard let tab1 = line.firstIndex(of: tab), let tab2 = line[line.index(after: tab1)...].firstIndex(of: tab) else { continue }
            let key = String(Substring(line[line.index(after: tab1)..<tab2]))
            let value = String(Substring(line[line.index(after: tab2)...]))
            if tab1 == line.index(after: line.startIndex), line.first == dash {
                switch key {
                case "same": gate.same = true
                case "gate": gate.lines = gate.lines ?? []; gate.lines?.append(value)
                default: break
                }
                continue
            }
            guard let i = Int(Substring(line[..<tab1])), i >= 0, i < count else { continue }
            switch key {
            case "missing": facts[i].missing = true
            case "sha":
                // `sha256sum < file`: "HASH  -"; empty when the file could not be read.
                facts[i].values[key] = String(value.prefix(64))
            case "pkg":
                let kv = value.split(separator: " ", maxSplits: 1)
                if kv.count == 2 { facts[i].packages[String(kv[0])] = String(kv[1]) }
            case "fmode":
                let kv = value.split(separator: " ", maxSplits: 1)
                if kv.count == 2 { facts[i].fileModes[String(kv[1])] = String(repeating: "0", count: max(0, 4 - kv[0].count)) + kv[0] }
            case "dmode":
                facts[i].dirModes.insert(String(repeating: "0", count: max(0, 4 - value.count)) + value)
            case "file":
                // sha256sum: "HASH  ./name", or "\HASH  ./name" with the name escaped (\\ and \n).
                var text = Substring(value)
                let escaped = text.hasPrefix("\\")
                if escaped { text = text.dropFirst() }
                guard text.count > 66 else { continue }
                let hash = String(text.prefix(64))
                var name = String(text.dropFirst(66))
                if name.hasPrefix("./") { name = String(name.dropFirst(2)) }
                if escaped { name = name.replacingOccurrences(of: "\\n", with: "\n").replacingOccurrences(of: "\\\\", with: "\\") }
                facts[i].files[name] = hash
            default:
                facts[i].values[key] = value
            }
        }
        return facts
    }
}
