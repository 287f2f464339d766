import Foundation

/// The files a model file names (its float source, the model it was compressed or fine-tuned from) are stored
/// relative to the model file's own folder, so that the file works from any directory; a reader resolves them
/// against that folder. A name that does not resolve there (a file written before this rule, relative to the
/// directory it was made in) is kept as written.
extension QuantizedModel {
    /// The JSON text for a file at `path`, with the referenced files relative to its folder.
    /// `staged` names files written in the same step that do not exist yet; references to them are made relative too.
    public func encoded(for path: String, staged: Set<String> = []) throws -> Data {
        var copy = self
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
        copy.mapReferences { FileReference.relative($0, toFolder: folder, mustExist: !staged.contains($0)) }
        return try copy.encoded()
    }

    /// References resolved against the folder of the file at `path` (when they exist there).
    mutating func resolveReferences(from path: String) {
        mapReferences { FileReference.resolved($0, fromFolderOf: path) }
    }

    private mutating func mapReferences(_ transform: (String) -> String) {
        source = transform(source)
        compressedFrom = compressedFrom.map(transform)
        if let from = fineTuning?.from { fineTuning?.from = transform(from) }
    }
}

public enum FileReference {
    /// `target` relative to the folder of `file` (both as the process sees them), or `target` unchanged when it
    /// does not exist.
    public static func relative(_ target: String, toFolderOf file: String) -> String {
        relative(target, toFolder: URL(fileURLWithPath: file).deletingLastPathComponent())
    }

    /// `target` relative to `folder`, or unchanged when it does not exist (and must).
    static func relative(_ target: String, toFolder folder: URL, mustExist: Bool = true) -> String {
        guard !target.isEmpty, !mustExist || FileManager.default.fileExists(atPath: target) else { return target }
        let to = components(URL(fileURLWithPath: target))
        let from = components(folder)
        var common = 0
        while common < min(to.count, from.count) && to[common] == from[common] { common += 1 }
        let up = Array(repeating: "..", count: from.count - common)
        return (up + to[common...]).joined(separator: "/")
    }

    /// `target` relative to the working directory (for messages and reports, as a user typed paths).
    public static func forDisplay(_ target: String) -> String {
        relative(target, toFolder: URL(fileURLWithPath: FileManager.default.currentDirectoryPath))
    }

    /// `reference` against the folder of `file` when it names an existing file there, else unchanged.
    public static func resolved(_ reference: String, fromFolderOf file: String) -> String {
        guard !reference.isEmpty, !reference.hasPrefix("/") else { return reference }
        let candidate = URL(fileURLWithPath: file).deletingLastPathComponent().appendingPathComponent(reference)
            .standardizedFileURL.path
        return FileManager.default.fileExists(atPath: candidate) ? candidate : reference
    }

    private static func components(_ url: URL) -> [String] {
        url.standardizedFileURL.resolvingSymlinksInPath().pathComponents.filter { $0 != "/" }
    }
}
