import ArgumentParser
import Foundation
import OttoCore
import OttoPlan

/// Prints an error the way otto reports every error (no stack traces), and gives the exit code.
func fail(_ error: any Error) -> ExitCode {
    switch error {
    case let e as ExitCode:
        return e
    case let e as DiagnosticsError:
        Terminal.err(e.description + "\n")
        let n = e.diagnostics.filter { $0.severity == .error }.count
        Terminal.err("\(n) error\(n == 1 ? "" : "s")\n")
    case let e as PlanError:
        Terminal.err(e.description + "\n")
    case let e as OttoError:
        Terminal.err("error: \(e.description)\n")
    default:
        Terminal.err("error: \(error)\n")
    }
    return .failure
}
