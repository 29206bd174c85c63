import OttoCore

extension YAMLNode {
    /// This node with `overlay` laid over it, as an environment changes a site: mappings merge key by key (recursively),
    /// a key whose overlay value is null (`~`) is removed, and anything else (a scalar, a list, a mapping over a
    /// non-mapping) is replaced by the overlay's value. Every node keeps the location where it was written, so an error
    /// in an overlaid value points into the environment's file.
    public func overlaid(with overlay: YAMLNode) -> YAMLNode {
        guard case .mapping(let base) = content, case .mapping(let over) = overlay.content else { return overlay }
        var entries = base
        for entry in over {
            let key = entry.key.text
            let index = entries.firstIndex { $0.key.text != nil && $0.key.text == key }
            if entry.value.isNull {
                if let index { entries.remove(at: index) }
            } else if let index {
                entries[index].value = entries[index].value.overlaid(with: entry.value)
            } else {
                entries.append(entry)
            }
        }
        return YAMLNode(.mapping(entries), at: location, tag: tag)
    }
}
