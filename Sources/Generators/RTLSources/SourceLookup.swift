/// The hand-written Verilog of rtl/ and testbench/, by repository path (`files` is written at build time by the
/// EmbedRTL plugin): what generated design folders carry.
public enum EmbeddedSources {
    /// The text of `path` (for example "rtl/approxrtl_rom.v"), or nil when the tree has no such file.
    public static func text(_ path: String) -> String? { byPath[path] }

    static let byPath = Dictionary(files.map { ($0.path, $0.text) }, uniquingKeysWith: { a, _ in a })
}
