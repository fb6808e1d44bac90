import Foundation
import TestProcesses
import Testing

/// Every committed fuzz input — the seed corpus and each crash reproducer — goes through its
/// harness again, in an ordinary build (`fuzz-*` replays the files it is given). A reproducer
/// in `Fuzz/regressions/<harness>/` is a regression test of the fix it came with.
@Suite("Fuzz corpus replay")
struct CorpusReplayTests {
  static let harnesses = ["wire", "submission", "message-file", "sheet", "registry", "configuration"]

  static var repositoryRoot: URL {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
  }

  @Test("the committed inputs pass their harness", arguments: harnesses)
  func replay(harness: String) throws {
    let executable = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
      .appendingPathComponent("fuzz-\(harness)")
    try #require(
      FileManager.default.isExecutableFile(atPath: executable.path),
      "\(executable.path) is missing: build it first with `swift build --build-tests` (Tests/run.sh does)")
    let folders = ["corpus", "regressions"].map { Self.repositoryRoot.appendingPathComponent("Fuzz/\($0)/\(harness)").path }
      .filter { FileManager.default.fileExists(atPath: $0) }
    let corpus = Self.repositoryRoot.appendingPathComponent("Fuzz/corpus/\(harness)").path
    let seeds = try FileManager.default.contentsOfDirectory(atPath: corpus).filter { !$0.hasPrefix(".") }
    #expect(seeds.count >= 3, "the seed corpus of \(harness) has \(seeds.count) inputs")

    let process = ChildProcess()
    process.executableURL = executable
    process.arguments = folders
    let output = Pipe()
    process.standardOutput = output
    process.standardError = output
    try process.run()
    let data = output.fileHandleForReading.readToEndRetryingInterrupts()
    process.waitUntilExit()
    let text = String(decoding: data, as: UTF8.self)
    #expect(process.terminationReason == .exit && process.terminationStatus == 0, "fuzz-\(harness) failed on a committed input:\n\(text.suffix(4000))")
    #expect(text.contains("input(s) passed"), "fuzz-\(harness) replayed nothing:\n\(text.suffix(2000))")
  }
}
