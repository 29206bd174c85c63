import Foundation
import OttoCore

/// Pure helpers both state stores (`SQLiteStateStore`, `PostgresStateStore`) use to turn ledger and walk rows into the
/// model types and back: the same JSON in the same columns, the same `state.corrupt` messages. `database` names the
/// state in messages (`the state database DATABASE`): a file path, or a `PostgresLocation`'s description.
enum StateRows {
    /// The body of a ledger event, written in the change's transaction: `{"event", "at", "deployment"}`; a promotion adds
    /// `"promotion"`. Sorted keys, slashes unescaped: the bytes every attempt of every webhook sends.
    static func eventBody(_ kind: LedgerEventKind, _ deployment: Deployment, at: Double, promotion: Promotion?) throws -> String {
        struct Body: Encodable {
            let event: LedgerEventKind; let at: String; let deployment: Deployment; let promotion: Promotion?
            enum CodingKeys: String, CodingKey { case event, at, deployment, promotion }
            func encode(to encoder: any Encoder) throws {
                var c = encoder.container(keyedBy: CodingKeys.self)
                try c.encode(event, forKey: .event)
                try c.encode(at, forKey: .at)
                try c.encode(deployment, forKey: .deployment)
                try c.encodeIfPresent(promotion, forKey: .promotion)
            }
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(Body(event: kind, at: ISO8601.string(Date(timeIntervalSince1970: at)),
                                                        deployment: deployment, promotion: promotion)), as: UTF8.self)
    }

    /// A release row: checks its result and decodes its hosts (JSON).
    /// The release ledger's columns, in the order both stores read and write them.
    static let releaseColumns = "site, app, number, version, digest, actor, started, finished, result, hosts, reason, rollback_of"

    /// The row `release` becomes as number `number` (started, not finished).
    static func started(_ release: NewRelease, number: Int) -> ReleaseRecord {
        ReleaseRecord(site: release.site, app: release.app, number: number, version: release.version, digest: release.digest,
                      actor: release.actor, started: Date(timeIntervalSince1970: release.started.timeIntervalSince1970),
                      hosts: release.hosts, reason: release.reason, rollbackOf: release.rollbackOf)
    }

    /// Refuses `started` as a finishing result (before anything is read).
    static func checkFinishing(_ result: ReleaseResult, site: String, app: String, number: Int) throws {
        guard result != .started else {
            throw OttoError("state.release", "release \(number) of app \(app) of site \(site) cannot finish as `started`: "
                            + "give succeeded, failed or rolled_back", causeText: nil)
        }
    }

    /// `record` finished with `result` at `finished` (and `reason`, when given); refused when it already finished.
    static func finished(_ record: ReleaseRecord, _ result: ReleaseResult, at finished: Date, reason: String?) throws -> ReleaseRecord {
        if let done = record.finished {
            throw OttoError("state.release", "release \(record.number) of app \(record.app) of site \(record.site) already finished "
                            + "(\(record.result.rawValue) at \(ISO8601.string(done))); the ledger is append-only", causeText: nil)
        }
        var out = record
        out.finished = Date(timeIntervalSince1970: finished.timeIntervalSince1970)
        out.result = result
        if let reason { out.reason = reason }
        return out
    }

    static func release(site: String, app: String, number: Int, version: String, digest: String, actor: String, started: Double,
                        finished: Double?, result resultText: String, hosts hostsText: String, reason: String, rollbackOf: Int?,
                        database: String) throws -> ReleaseRecord {
        guard let result = ReleaseResult(rawValue: resultText) else {
            throw OttoError("state.corrupt", "release \(number) of app \(app) of site \(site) in the state database \(database) "
                            + "has an unknown result `\(resultText)`", causeText: nil)
        }
        let hosts: [String]
        do {
            hosts = try JSONDecoder().decode([String].self, from: Data(hostsText.utf8))
        } catch {
            throw OttoError("state.corrupt", "release \(number) of app \(app) of site \(site) in the state database \(database) "
                            + "holds unreadable JSON in hosts", cause: error)
        }
        return ReleaseRecord(site: site, app: app, number: number, version: version, digest: digest, actor: actor,
                             started: Date(timeIntervalSince1970: started), finished: finished.map(Date.init(timeIntervalSince1970:)),
                             result: result, hosts: hosts, reason: reason, rollbackOf: rollbackOf)
    }

    /// A walk's JSON columns and its pages' column values, ready to insert.
    struct EncodedWalk {
        /// `resolve` (JSON array of strings).
        var resolve: String
        /// `broken` (JSON array of broken links, `[]` when none).
        var broken: String
        /// The pages, in `seq` order (from 0).
        var pages: [Page]

        /// One `walk_pages` row without its walk id.
        struct Page {
            var seq: Int
            var url: String
            var depth: Int
            var kind: String
            var method: String
            var status: Int?
            var timeMs: Double
            var size: Int
            var contentType: String?
            /// JSON, nil when there were none.
            var redirects: String?
            /// JSON, nil when there were none.
            var links: String?
            var errorCode: String?
            var errorMessage: String?
        }
    }

    /// Encodes `report`'s JSON columns; `state.write` when it cannot.
    static func encodeWalk(_ report: WalkReport) throws -> EncodedWalk {
        let encoder = JSONEncoder()
        do {
            let broken = report.broken.isEmpty ? "[]" : String(decoding: try encoder.encode(report.broken), as: UTF8.self)
            let pages = try report.pages.enumerated().map { seq, page in
                let redirects = page.redirects.isEmpty ? nil : String(decoding: try encoder.encode(page.redirects), as: UTF8.self)
                // Links are most of a walk's bytes: written with the state's own JSON writer (JSONEncoder was a third of
                // the time of recording a 1,000-page walk).
                let links = page.links.isEmpty ? nil : ValueJSON.encode(strings: page.links)
                return EncodedWalk.Page(seq: seq, url: page.url, depth: page.depth, kind: page.kind.rawValue, method: page.method,
                                        status: page.status, timeMs: page.timeMs, size: page.size, contentType: page.contentType,
                                        redirects: redirects, links: links, errorCode: page.error?.code, errorMessage: page.error?.message)
            }
            return EncodedWalk(resolve: ValueJSON.encode(strings: report.resolve), broken: broken, pages: pages)
        } catch {
            throw OttoError("state.write", "cannot encode the walk of site \(report.site) as JSON", cause: error)
        }
    }

    /// A `walk_pages` row of walk `id`.
    static func walkPage(walk id: Int64, url: String, depth: Int, kind kindText: String, method: String, status: Int?, timeMs: Double,
                         size: Int, contentType: String?, redirects redirectsText: String?, links linksText: String?, errorCode: String?,
                         errorMessage: String?, database: String) throws -> WalkPage {
        guard let kind = WalkPage.Kind(rawValue: kindText) else {
            throw OttoError("state.corrupt", "walk \(id) in the state database \(database) has a page of unknown kind `\(kindText)`",
                            causeText: nil)
        }
        let decoder = JSONDecoder()
        do {
            return WalkPage(url: url, depth: depth, kind: kind, method: method, status: status, timeMs: timeMs, size: size,
                            contentType: contentType,
                            redirects: try redirectsText.map { try decoder.decode([WalkRedirect].self, from: Data($0.utf8)) } ?? [],
                            links: try linksText.map { try decoder.decode([String].self, from: Data($0.utf8)) } ?? [],
                            error: errorCode.map { WalkError(code: $0, message: errorMessage ?? "") })
        } catch {
            throw OttoError("state.corrupt", "walk \(id) in the state database \(database) holds unreadable JSON for page \(url)",
                            cause: error)
        }
    }

    /// A `walks` row with `pages`.
    static func walk(id: Int64, site: String, start: String, started: Double, finished: Double, depth: Int, maxPages: Int,
                     truncated: Bool, interrupted: Bool, requests: Int, connections: Int, resolve resolveText: String,
                     broken brokenText: String, pages: [WalkPage], database: String) throws -> WalkReport {
        do {
            let decoder = JSONDecoder()
            return WalkReport(id: id, site: site, start: start, startedAt: Date(timeIntervalSince1970: started),
                              finishedAt: Date(timeIntervalSince1970: finished), depth: depth, maxPages: maxPages, pages: pages,
                              broken: try decoder.decode([WalkBrokenLink].self, from: Data(brokenText.utf8)),
                              truncated: truncated, interrupted: interrupted, requests: requests, connections: connections,
                              resolve: try decoder.decode([String].self, from: Data(resolveText.utf8)))
        } catch {
            throw OttoError("state.corrupt", "walk \(id) in the state database \(database) holds unreadable JSON", cause: error)
        }
    }
}
