import DaemonSupport
import Foundation
import HiTechSchema
import HiTechTestSupport

/// The daemons as real processes (`hitech aggregator run`, `hitech node run`, the release
/// build beside this executable): what each costs while idle, and how fast a node drains a
/// backlog of report files into the aggregator.
enum ProcessBench {
  struct Idle {
    var aggregatorCPU: Double  // percent of one core
    var aggregatorRSS: Double  // MiB
    var nodeCPU: Double
    var nodeRSS: Double
  }

  struct Drain {
    var files: Int
    var seconds: Double
    var rate: Double { Double(files) / seconds }
  }

  static let reporter = "110000"
  static let bases = ["SAMPLE-110000-01", "SAMPLE-110000-02"]

  /// Starts an aggregator and a node, lets them settle for `settleSeconds`, samples their idle cost over
  /// `idleSeconds`, then drops `backlog` report files into the node's outbox and times the drain.
  static func run(settleSeconds: Double, idleSeconds: Double, backlog: Int) async throws -> (Idle, Drain) {
    let years = Array(2000..<(2000 + (backlog + bases.count - 1) / bases.count))
    let aggregator = try AggregatorProcess(reporters: [reporter], years: [])
    try await aggregator.openRounds(years)
    try await aggregator.start(answeringAs: reporter)
    let node = try NodeProcess(reporter: reporter, aggregator: aggregator)
    try node.start()
    defer {
      node.terminate()
      _ = aggregator.terminate()
    }

    // Settle: both connected, start-up work done.
    try await Task.sleep(for: .milliseconds(Int(settleSeconds * 1000)))
    guard let aggregatorPID = aggregator.processIdentifier, let nodePID = node.pid else {
      throw BenchFailure("a daemon is not running")
    }
    let before = (cpuTicks(aggregatorPID), cpuTicks(nodePID))
    let start = ContinuousClock.now
    try await Task.sleep(for: .milliseconds(Int(idleSeconds * 1000)))
    let seconds = (ContinuousClock.now - start).seconds
    let after = (cpuTicks(aggregatorPID), cpuTicks(nodePID))
    let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))
    let idle = Idle(
      aggregatorCPU: Double(after.0 - before.0) / ticks / seconds * 100,
      aggregatorRSS: rssMiB(aggregatorPID),
      nodeCPU: Double(after.1 - before.1) / ticks / seconds * 100,
      nodeRSS: rssMiB(nodePID)
    )

    // The backlog: written aside, then renamed into the outbox as the node expects.
    for index in 0..<backlog {
      let base = bases[index % bases.count]
      let year = Int32(2000 + index / bases.count)
      try node.drop("\(base)-\(year).json", try SampleSubmissions.submission(base: base, year: year))
    }
    let drainStart = ContinuousClock.now
    let deadline = drainStart + .seconds(600)
    while node.count("sent") < backlog {
      guard ContinuousClock.now < deadline else { throw BenchFailure("the backlog did not drain in 600 s") }
      try await Task.sleep(for: .milliseconds(20))
    }
    let drain = Drain(files: backlog, seconds: (ContinuousClock.now - drainStart).seconds)
    return (idle, drain)
  }

  /// User plus system CPU ticks of a process (/proc/PID/stat fields 14 and 15).
  static func cpuTicks(_ pid: Int32) -> Int {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
      let close = stat.lastIndex(of: ")")
    else { return 0 }
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    // After the command: state is field 3, so utime (14) and stime (15) are at 11 and 12.
    return (Int(fields[11]) ?? 0) + (Int(fields[12]) ?? 0)
  }

  /// Resident memory of a process (VmRSS), in MiB.
  static func rssMiB(_ pid: Int32) -> Double {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
      let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") })
    else { return .nan }
    let kib = Double(line.split(separator: " ").dropFirst().first ?? "") ?? .nan
    return kib / 1024
  }
}

/// A `hitech node run` process with its own spool.
final class NodeProcess: @unchecked Sendable {
  let directory: String
  private var process: Process?

  var spool: String { directory + "/spool" }
  var outbox: String { spool + "/outbox" }
  var configPath: String { directory + "/node.json" }
  var logPath: String { directory + "/node.log" }
  var pid: Int32? { process?.processIdentifier }

  init(reporter: String, aggregator: AggregatorProcess) throws {
    directory = NSTemporaryDirectory() + "hitech-bench-node-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: outbox, withIntermediateDirectories: true)
    let node: [String: Any] = [
      "reporterCode": reporter,
      "aggregatorEndpoint": aggregator.endpoint,
      "aggregatorPublicKeyPath": aggregator.serverPublicKeyPath,
      "secretKeyPath": aggregator.secretKeyPath(reporter),
      "spoolDirectory": spool,
      "statusPath": directory + "/node.status.json",
    ]
    try JSONSerialization.data(withJSONObject: ["node": node]).write(to: URL(fileURLWithPath: configPath))
  }

  deinit {
    if let process, process.isRunning { kill(process.processIdentifier, SIGKILL) }
    try? FileManager.default.removeItem(atPath: directory)
  }

  func start() throws {
    let process = Process()
    process.executableURL = try AggregatorProcess.executable
    process.arguments = ["node", "run", "--config", configPath]
    _ = FileManager.default.createFile(atPath: logPath, contents: nil)
    let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logPath))
    process.standardOutput = log
    process.standardError = log
    try process.run()
    self.process = process
  }

  func terminate() {
    guard let process else { return }
    process.terminate()
    process.waitUntilExit()
    self.process = nil
  }

  func drop(_ name: String, _ submission: Ndrc_Hitech_V1_Submission) throws {
    let temporary = outbox + "/" + name + ".tmp"
    try submission.jsonUTF8Data().write(to: URL(fileURLWithPath: temporary))
    guard rename(temporary, outbox + "/" + name) == 0 else { throw BenchFailure("rename \(name): errno \(errno)") }
  }

  func count(_ folder: String) -> Int {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: spool + "/" + folder)) ?? []
    return names.count { $0.hasSuffix(".json") && !$0.hasSuffix(".receipt.json") }
  }
}
