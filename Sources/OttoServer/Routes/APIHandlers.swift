import Hummingbird

/// The handler of each route in ``RouteTable``.
enum APIHandlers {
    static func handler(for route: RouteSpec) -> APIHandler {
        switch (route.method, route.path) {
        case (.get, "/inv"): return listInventory
        case (.get, "/inv/{item}"): return getHost
        case (.post, "/inv/{item}"): return postHost
        case (.delete, "/inv/{item}"): return deleteHost
        case (.get, "/dom/ns/{domain}"): return getNameservers
        case (.post, "/dom/ns/{domain}"): return postNameservers
        case (.delete, "/dom/ns/{domain}"): return deleteNameservers
        case (.get, "/dom/dns/{domain}"): return getRecords
        case (.put, "/dom/dns/{domain}"): return putRecords
        case (.delete, "/dom/dns/{domain}"): return deleteRecords
        case (.get, "/site/walk/"): return recentWalks
        case (.get, "/site/walk/{site}/"): return siteWalks
        case (.get, "/site/walk/{site}/{walkid}"): return oneWalk
        case (.put, "/site/walk/{site}"): return scheduleWalks
        case (.delete, "/site/walk/{site}"): return unscheduleWalks
        case (.post, "/v1/plan"): return plan
        case (.post, "/v1/apply"): return apply
        case (.get, "/v1/runs/{id}"): return getRun
        case (.get, "/v1/status"): return status
        case (.get, "/healthz"): return healthz
        case (.get, "/metrics"): return metrics
        case (.get, "/"): return statusPage
        case (.get, "/openapi.json"): return openAPI
        default: preconditionFailure("no handler for \(route)")
        }
    }
}
