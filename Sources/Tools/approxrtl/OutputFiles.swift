import Dispatch
import Foundation

/// Outputs are written whole or not at all. Each goes first to a temporary beside its target, named
/// `.<target>.approxrtl-tmp-<pid>`, and is renamed into place when complete. A temporary is removed when the
/// command is interrupted (SIGINT, SIGTERM, SIGHUP); one left by a killed run (SIGKILL, power loss) is removed by
/// the next run that writes beside it, once its process is gone.
enum Staging {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var paths = Set<String>()
    nonisolated(unsafe) private static var sources: [DispatchSourceSignal] = []

    /// The temporary for `target`, registered for removal on a signal.
    static func temporary(for target: URL, kind: String = "tmp") -> URL {
        installHandlers()
        removeStale(beside: target)
        let url = target.deletingLastPathComponent().appendingPathComponent(
            ".\(target.lastPathComponent).approxrtl-\(kind)-\(getpid())")
        lock.withLock { _ = paths.insert(url.path) }
        return url
    }

    /// Runs a write into a temporary, or its rename into place, so that a signal's removal never overlaps it.
    static func perform<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    /// The temporary is in place (renamed) or gone: nothing left to remove on a signal.
    static func release(_ url: URL) { lock.withLock { _ = paths.remove(url.path) } }

    private static func installHandlers() {
        lock.withLock {
            guard sources.isEmpty else { return }
            for number in [SIGINT, SIGTERM, SIGHUP] {
                signal(number, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
                source.setEventHandler {
                    // The lock is never released: a write or rename under way finishes first, and none starts
                    // after the removal (the command's thread waits on the lock until the process ends).
                    lock.lock()
                    for path in paths { try? FileManager.default.removeItem(atPath: path) }
                    FileHandle.standardError.write(Data("\ninterrupted; unfinished outputs removed\n".utf8))
                    _exit(128 + number)
                }
                source.resume()
                sources.append(source)
            }
        }
    }

    /// Removes the temporaries of `target` whose process has ended.
    private static func removeStale(beside target: URL) {
        let folder = target.deletingLastPathComponent()
        let prefix = ".\(target.lastPathComponent).approxrtl-"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else { return }
        for name in names where name.hasPrefix(prefix) {
            guard let pid = name.split(separator: "-").last.flatMap({ Int32($0) }), pid != getpid(),
                kill(pid, 0) != 0, errno == ESRCH
            else { continue }
            try? FileManager.default.removeItem(at: folder.appendingPathComponent(name))
        }
    }
}

/// A file written to its temporary now and put in place by `commit()`; several are committed together at the end
/// of a command, so that an interrupted run leaves none of them.
struct StagedFile {
    /// As given (for references to it from other files of the same step).
    let path: String
    let target: URL
    let temporary: URL

    init(_ data: Data, to path: String, force: Bool) throws {
        self.path = path
        target = URL(fileURLWithPath: path)
        if FileManager.default.fileExists(atPath: path) && !force {
            throw CLIError("\(path) exists; pass --force to overwrite it")
        }
        do {
            try FileManager.default.createDirectory(
                at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
        } catch {
            throw CLIError("cannot write \(path): cannot create its folder")
        }
        temporary = Staging.temporary(for: target)
        do { try Staging.perform { try data.write(to: temporary) } } catch {
            try? FileManager.default.removeItem(at: temporary)
            Staging.release(temporary)
            throw CLIError("cannot write \(path): \(error.localizedDescription)")
        }
    }

    /// Removes the temporary: the command failed, nothing of it is put in place.
    func discard() {
        try? FileManager.default.removeItem(at: temporary)
        Staging.release(temporary)
    }

    func commit() throws {
        defer { Staging.release(temporary) }
        guard Staging.perform({ rename(temporary.path, target.path) }) == 0 else {
            try? FileManager.default.removeItem(at: temporary)
            throw CLIError("cannot write \(target.path): \(String(cString: strerror(errno)))")
        }
    }
}

/// Writes a file atomically. An existing file is replaced only with `force`.
func writeOutput(_ data: Data, to path: String, force: Bool) throws {
    try StagedFile(data, to: path, force: force).commit()
}

/// The list of what `writeFolder` wrote, kept in the folder so that `--force` replaces only that.
let folderManifest = ".approxrtl-files"

/// Writes a folder of files as a whole: into a temporary folder beside it, then renamed into place, so that a
/// failure or an interruption leaves either the old folder or the new one. An existing folder is replaced only
/// with `force`, and only if it holds nothing but what approxrtl wrote there (its files, and the `build` folder of
/// `sim` and `synth`).
func writeFolder(_ files: [String: Data], to path: String, force: Bool) throws {
    let manager = FileManager.default
    let target = URL(fileURLWithPath: path)
    var isDirectory: ObjCBool = false
    let exists = manager.fileExists(atPath: path, isDirectory: &isDirectory)
    if exists && !force { throw CLIError("\(path) exists; pass --force to replace it") }
    if exists && !isDirectory.boolValue { throw CLIError("\(path) exists and is not a folder") }
    if exists { try checkOnlyToolFiles(in: target, replacing: Set(files.keys)) }
    let parent = target.deletingLastPathComponent()
    let staging = Staging.temporary(for: target)
    let old = Staging.temporary(for: target, kind: "old")
    defer { Staging.release(staging); Staging.release(old) }
    do {
        try manager.createDirectory(at: parent, withIntermediateDirectories: true)
        try? manager.removeItem(at: staging)
        var written = files
        written[folderManifest] = Data((files.keys.sorted().joined(separator: "\n") + "\n").utf8)
        for (name, data) in written.sorted(by: { $0.key < $1.key }) {
            let url = staging.appendingPathComponent(name)
            try Staging.perform {
                try manager.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try data.write(to: url)
            }
        }
        try Staging.perform {
            if exists {
                try manager.moveItem(at: target, to: old)
                try manager.moveItem(at: staging, to: target)
                try manager.removeItem(at: old)
            } else {
                try manager.moveItem(at: staging, to: target)
            }
        }
    } catch {
        try? manager.removeItem(at: staging)
        throw CLIError("cannot write \(path): \(error.localizedDescription)")
    }
}

/// Refuses to replace a folder holding files approxrtl did not write: every file must be listed in the folder's
/// manifest (or, in a folder from before manifests, be one of the files about to be written), or lie in `build/`.
private func checkOnlyToolFiles(in folder: URL, replacing newFiles: Set<String>) throws {
    let manifest = (try? String(contentsOf: folder.appendingPathComponent(folderManifest), encoding: .utf8))
        .map { Set($0.split(separator: "\n").map(String.init)) }
    let known = (manifest ?? newFiles).union([folderManifest])
    guard let enumerator = FileManager.default.enumerator(atPath: folder.path) else { return }
    var foreign = [String]()
    while let relative = enumerator.nextObject() as? String {
        if relative == "build" || relative.hasPrefix("build/") { continue }
        var isDirectory: ObjCBool = false
        FileManager.default.fileExists(atPath: folder.appendingPathComponent(relative).path, isDirectory: &isDirectory)
        if !isDirectory.boolValue && !known.contains(relative) { foreign.append(relative) }
    }
    guard foreign.isEmpty else {
        throw CLIError(
            "\(folder.path) holds files approxrtl did not write (\(foreign.sorted().prefix(5).joined(separator: ", "))\(foreign.count > 5 ? ", ..." : "")); move them or choose another folder"
        )
    }
}
