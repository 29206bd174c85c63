/// Small name checks shared by the decoders.
enum Names {
    static func isSimpleName(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 }
    }

    /// An inventory host name: 1 to 253 characters of ASCII letters, digits, `.`, `-` and `_`, starting with a letter
    /// or a digit (a short name, a DNS name or an IP address).
    static func isHostName(_ s: String) -> Bool {
        guard let first = s.utf8.first, s.utf8.count <= 253 else { return false }
        func alnum(_ c: UInt8) -> Bool { (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) }
        return alnum(first) && s.utf8.allSatisfy { alnum($0) || $0 == 46 || $0 == 45 || $0 == 95 }
    }

    static let hostNameRule = "use letters, digits, `.`, `-` and `_`, starting with a letter or digit, at most 253 characters"
}
