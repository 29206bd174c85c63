import Mustache

/// Load-time check of a mustache template, read the way the host provider renders it (as plain text: the same
/// `CONTENT_TYPE: TEXT` pragma in front, see `TemplateText` in OttoProviders).
enum TemplateSyntax {
    static let pragma = "{{% CONTENT_TYPE: TEXT}}\n"

    /// Nil when `text` parses; otherwise where and why it does not, in the template's own lines and columns.
    static func problem(_ text: String) -> String? {
        do {
            _ = try MustacheTemplate(string: pragma + text)
            return nil
        } catch let e as MustacheTemplate.ParserError {
            return "line \(max(1, e.context.lineNumber - 1)), column \(e.context.columnNumber): \(words(e.error))"
        } catch {
            return String(describing: error)
        }
    }

    /// The parser's error in words.
    static func words(_ error: any Error) -> String {
        guard let e = error as? MustacheTemplate.Error else {
            // The parser ran past the end of the text looking for a tag's end.
            let text = String(describing: error)
            return text == "overflow" ? "the template ends inside a tag (missing `}}`)" : text
        }
        switch e {
        case .sectionCloseNameIncorrect: return "a section is closed with another name than the one it opened with"
        case .unfinishedName: return "a tag is not closed (missing `}}`)"
        case .expectedSectionEnd: return "a section is never closed (missing `{{/name}}`)"
        case .invalidSetDelimiter: return "invalid set-delimiter tag"
        case .invalidConfigVariableSyntax, .unrecognisedConfigVariable: return "invalid pragma (`{{% ...}}`)"
        default: return String(describing: e)
        }
    }
}
