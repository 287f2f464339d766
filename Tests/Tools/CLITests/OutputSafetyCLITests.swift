import Foundation
import XCTest

/// Outputs that leave nothing behind, `--force` that replaces only approxrtl's own files, and design folders whose
/// names cannot reach a tool's command line as anything but file names.
extension CLITests {
    func testForceReplacesOnlyWhatApproxrtlWrote() throws {
        let (data, quantized) = try quantizeBundledLeNet()
        let folder = directory.appendingPathComponent("acc").path
        let arguments = [
            "generate", quantized, "--arch", "diannao", "--tn", "4", "--images", "1", "--data", data, "-o", folder,
            "--force",
        ]
        XCTAssertEqual(try run(arguments).status, 0)
        let manifest = try String(contentsOfFile: folder + "/.approxrtl-files", encoding: .utf8)
        XCTAssertTrue(manifest.contains("design.json\n") && manifest.contains("rtl/"), manifest)
        // A user's file in the folder: --force refuses, names it, and leaves it.
        let notes = folder + "/rtl/notes.txt"
        try Data("mine".utf8).write(to: URL(fileURLWithPath: notes))
        let refused = try run(arguments)
        XCTAssertEqual(refused.status, 1)
        XCTAssertTrue(
            refused.stderr.contains("rtl/notes.txt") && refused.stderr.contains("did not write"), refused.stderr)
        XCTAssertEqual(try String(contentsOfFile: notes, encoding: .utf8), "mine")
        // What sim and synth write (build/) is approxrtl's own.
        try FileManager.default.removeItem(atPath: notes)
        try FileManager.default.createDirectory(atPath: folder + "/build/obj", withIntermediateDirectories: true)
        try Data("log".utf8).write(to: URL(fileURLWithPath: folder + "/build/obj/sim.log"))
        let replaced = try run(arguments)
        XCTAssertEqual(replaced.status, 0, replaced.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: folder + "/build"))
    }

    func testTemporariesOfAKilledRunAreRemovedByTheNextRun() throws {
        let (data, quantized) = try quantizeBundledLeNet()
        // The pid of a process that has ended, as a killed run's would be.
        let done = Process()
        done.executableURL = URL(fileURLWithPath: "/bin/true")
        try done.run()
        done.waitUntilExit()
        let dead = done.processIdentifier, alive = ProcessInfo.processInfo.processIdentifier
        let staleFolder = directory.appendingPathComponent(".acc.approxrtl-tmp-\(dead)/rtl")
        try FileManager.default.createDirectory(at: staleFolder, withIntermediateDirectories: true)
        let staleFile = directory.appendingPathComponent(".out.c.json.approxrtl-tmp-\(dead)")
        let running = directory.appendingPathComponent(".out.c.json.approxrtl-tmp-\(alive)")
        for url in [staleFile, running] { try Data(count: 1000).write(to: url) }
        XCTAssertEqual(
            try run([
                "generate", quantized, "--arch", "diannao", "--tn", "4", "--images", "1", "--data", data, "-o",
                directory.appendingPathComponent("acc").path,
            ]).status, 0)
        let out = directory.appendingPathComponent("out.c.json").path
        XCTAssertEqual(try run(["compress", quantized, "--method", "swc", "-o", out]).status, 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: staleFolder.deletingLastPathComponent().path))
        XCTAssertFalse(FileManager.default.fileExists(atPath: staleFile.path))
        XCTAssertTrue(FileManager.default.fileExists(atPath: running.path), "a live process's temporary stays")
        let left = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter {
            $0.contains("approxrtl-") && $0 != running.lastPathComponent
        }
        XCTAssertEqual(left, [])
    }

    func testSimTakesOnlyPlainFileNamesFromDesignJSON() throws {
        let (data, quantized) = try quantizeBundledLeNet()
        let folder = directory.appendingPathComponent("acc")
        XCTAssertEqual(
            try run([
                "generate", quantized, "--arch", "diannao", "--tn", "4", "--images", "1", "--data", data, "-o",
                folder.path,
            ]).status, 0)
        let designFile = folder.appendingPathComponent("design.json")
        let original = try XCTUnwrap(
            JSONSerialization.jsonObject(with: Data(contentsOf: designFile)) as? [String: Any])
        let pwned = directory.appendingPathComponent("pwned").path
        let hostile: [(String, Any, String)] = [
            ("rtl", ["-CFLAGS", "$(shell touch \(pwned))"], "not a plain relative file name"),
            ("rtl", ["../outside.v"], "not a plain relative file name"),
            ("rtl", ["/etc/passwd"], "not a plain relative file name"),
            ("rtl", ["rtl/missing.v"], "names no file"),
            ("top", "top; rm -rf x", "is not a Verilog identifier"),
            ("bench", "tb --exe", "is not a Verilog identifier"),
        ]
        for (field, value, message) in hostile {
            var design = original
            design[field] = value
            try JSONSerialization.data(withJSONObject: design).write(to: designFile)
            for command in [["sim", folder.path, "--simulator", "iverilog"], ["synth", folder.path]] {
                let result = try run(command)
                XCTAssertEqual(result.status, 1, "\(command[0]) \(field)")
                XCTAssertTrue(
                    result.stderr.contains("design.json") && result.stderr.contains(message),
                    "\(command[0]) \(field): \(result.stderr)")
            }
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: pwned))
    }
}
