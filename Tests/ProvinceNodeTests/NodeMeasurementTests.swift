import Foundation
import ProvinceNode
import Testing

/// Prints how long a backlog takes to drain and what an idle node costs. Not asserted, and run
/// only with HITECH_MEASURE=1 (it takes a while): `HITECH_MEASURE=1 swift test --skip-build
/// --filter NodeMeasurementTests`.
@Suite(.serialized, .enabled(if: ProcessInfo.processInfo.environment["HITECH_MEASURE"] == "1"))
struct NodeMeasurementTests {
  @Test("a 2,000-file backlog drains; idle CPU and resident memory afterwards")
  func backlogAndIdle() async throws {
    let count = 2000
    let samples = try NodeSamples.beijing(count)
    let years = NodeSamples.years(count)
    let aggregator = try await AggregatorUnderTest(reporters: ["110000"], years: years)
    try await aggregator.start(answeringAs: "110000")
    let node = try NodeUnderTest(reporter: "110000", aggregator: aggregator)
    for sample in samples { try node.drop(sample.name, sample.submission) }
    let started = ContinuousClock.now
    try node.start()
    try await node.waitUntilDone(count, timeout: .seconds(600))
    print("MEASURE: a backlog of \(count) files drained in \(ContinuousClock.now - started)")
    #expect(node.files("sent").count == count)

    try await Task.sleep(for: .seconds(3))
    let pid = try #require(node.pid)
    let before = Self.cpuTicks(pid)
    let seconds = 20.0
    try await Task.sleep(for: .seconds(seconds))
    let after = Self.cpuTicks(pid)
    let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))
    let cpu = Double(after - before) / ticksPerSecond / seconds * 100
    print("MEASURE: idle CPU \(String(format: "%.3f", cpu)) % over \(Int(seconds)) s; \(Self.rss(pid))")
    node.terminate()
    aggregator.terminate()
  }

  static func cpuTicks(_ pid: Int32) -> Int {
    let stat = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
    let fields = stat.split(separator: ")").last?.split(separator: " ") ?? []
    // After "pid (comm)": state is field 0, utime 11, stime 12.
    guard fields.count > 12 else { return 0 }
    return (Int(fields[11]) ?? 0) + (Int(fields[12]) ?? 0)
  }

  static func rss(_ pid: Int32) -> String {
    let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
    return status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS") }).map(String.init) ?? "VmRSS unknown"
  }
}
