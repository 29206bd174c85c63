import OttoCore

extension ConfigReader {
    /// Decodes one image recipe document.
    func image(_ root: YAMLNode) -> ImageRecipe? {
        guard let f = fields(root, "an image", allowed: ["image", "from", "base", "packages", "files", "run"], required: ["image"]) else { return nil }
        let name = self.name(f["image"], "image name")
        let from = f["from"].flatMap { n in string(n).map { Located($0, at: n.location) } }
        var suite: String?, mirror: String?
        if let b = f["base"] {
            if from != nil { error(f.keyLocation("base"), "an image takes `from` (another image) or `base`, not both") }
            if let bf = fields(b, "image base", allowed: ["suite", "mirror"]) {
                suite = bf["suite"].flatMap(string) ?? "bookworm"
                mirror = bf["mirror"].flatMap(string)
            }
        } else if from == nil {
            suite = "bookworm"
        }
        var files: [ImageRecipe.File] = []
        if let list = f["files"] {
            if let items = list.items {
                for item in items {
                    guard let ff = fields(item, "an image file", allowed: ["path", "content", "source", "mode", "owner"], required: ["path"]) else { continue }
                    let path = ff["path"].flatMap(string)
                    if let p = ff["path"], let path, !path.hasPrefix("/") { error(p.location, "path must be absolute, got \(Value.string(path))") }
                    let content = ff["content"].flatMap(string), source = ff["source"].flatMap(string)
                    if (ff["content"] == nil) == (ff["source"] == nil) {
                        error(item.location, "an image file needs exactly one of `content` or `source`")
                    }
                    var mode = "0644"
                    if let m = ff["mode"], let text = string(m) {
                        if (3...4).contains(text.count), text.allSatisfy({ ("0"..."7").contains($0) }) { mode = text.count == 3 ? "0" + text : text }
                        else { error(m.location, "invalid mode \(Value.string(text)): expected octal like \"0644\" (quote it)") }
                    }
                    if let path { files.append(.init(path: path, content: content, source: source, mode: mode, owner: ff["owner"].flatMap(string) ?? "root")) }
                }
            } else { error(list.location, "expected files (a list), got \(list.kindDescription)") }
        }
        guard let name else { return nil }
        return ImageRecipe(name: name, from: from, suite: suite, mirror: mirror,
                           packages: strings(f["packages"])?.map(\.0) ?? [], files: files,
                           run: strings(f["run"], single: true)?.map(\.0) ?? [], location: root.location)
    }
}
