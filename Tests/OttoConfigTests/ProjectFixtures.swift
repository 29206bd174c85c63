import Foundation
@testable import OttoConfig
import OttoCore
import OttoTestSupport

/// The inventory most tests share: a PowerDNS provider and a local machine provider.
let standardInventory = """
    providers:
      powerdns: { url: "http://127.0.0.1:8081", server: localhost, api_key_env: PDNS_API_KEY }
      local: { subnet: 10.213.0.0/24, bridge: otto0 }
    """

/// Writes `files` (relative path -> text) into a fresh project root and loads it.
func loadProject(_ files: [String: String]) throws(DiagnosticsError) -> Project {
    let dir = try! TempDir()
    for (path, text) in files { dir.write(path, text) }
    return try Project.load(root: dir.path)
}

/// The rendered diagnostics of loading `files`, or [] when it loads.
func loadErrors(_ files: [String: String]) -> [String] {
    do {
        _ = try loadProject(files)
        return []
    } catch {
        return error.diagnostics.map(\.description)
    }
}

/// Loads a one-site project with the standard inventory and returns the errors.
func siteErrors(_ site: String, inventory: String = standardInventory) -> [String] {
    loadErrors(["sites/demo.yml": site, "inventory/main.yml": inventory])
}
