import DaemonSupport
import Foundation
import Synchronization
import GRPCCore
import HiTechTestSupport
import Logging

// hitech-bench: the project's benchmark suite (Benchmarks/README.md). Run it through
// Benchmarks/run.sh, which builds it in release mode; `--smoke` runs every part for a few
// iterations only (CI), so the suite keeps building and running, with figures that mean nothing.

// What the fixtures log goes to standard error, apart from the tables.
LoggingSystem.bootstrap(StreamLogHandler.standardError)

let arguments = Array(CommandLine.arguments.dropFirst())
if arguments.contains("--help") || arguments.contains("-h") {
  print("""
    usage: hitech-bench [--smoke] [--only PART,...]
      parts: raw, ping, stream, submit, process (default: all)
      --smoke   a few iterations of each part: checks that the suite runs, measures nothing
    """)
  exit(0)
}
let smoke = arguments.contains("--smoke")
let only: Set<String>? = arguments.firstIndex(of: "--only").flatMap { index in
  index + 1 < arguments.count ? Set(arguments[index + 1].split(separator: ",").map(String.init)) : nil
}
func wanted(_ part: String) -> Bool { only?.contains(part) ?? true }

let levels = [1, 10, 100]
let submitLevels = [1, 10, 50, 200]
let pointSeconds = smoke ? 0.1 : 2.0
let warmUp = smoke ? 0.0 : 0.3

// MARK: - Output

func rate(_ value: Double) -> String {
  guard value.isFinite else { return "-" }
  let rounded = Int(value.rounded())
  let formatter = NumberFormatter()
  formatter.numberStyle = .decimal
  formatter.groupingSeparator = ","
  formatter.usesGroupingSeparator = true
  return formatter.string(from: NSNumber(value: rounded)) ?? "\(rounded)"
}
func ms(_ seconds: Double) -> String { seconds.isFinite ? String(format: "%.3f", seconds * 1000) : "-" }
func ratio(_ value: Double) -> String { value.isFinite ? String(format: "%.3f", value) : "-" }
func say(_ line: String = "") { FileHandle.standardOutput.write(Data((line + "\n").utf8)) }
func note(_ line: String) { FileHandle.standardError.write(Data("hitech-bench: \(line)\n".utf8)) }

var ratios: [(String, String, String)] = []  // what, value, target
@MainActor func addRatio(_ what: String, _ value: Double, target: String = "") { ratios.append((what, ratio(value), target)) }

@MainActor func table(_ title: String, unit: String, rows: [(String, Int, LoadResult)]) {
  say("### \(title)")
  say()
  say("| peer | in flight | \(unit) | p50 ms | p99 ms | failed |")
  say("|---|---:|---:|---:|---:|---:|")
  for (peer, inFlight, result) in rows {
    say("| \(peer) | \(inFlight) | \(rate(result.rate)) | \(ms(result.p50)) | \(ms(result.p99)) | \(result.failures) |")
  }
  say()
}

say("## hitech-bench \(smoke ? "(smoke pass: a few iterations, figures meaningless)" : "")")
say()
say("\(ProcessInfo.processInfo.activeProcessorCount) cores, load average \(String((try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(separator: " ") ?? "?")), \(Date())")
say()

// MARK: - Raw libzmq

var raw: [Bool: [Int: LoadResult]] = [:]
if wanted("raw") || wanted("ping") {
  note("raw libzmq DEALER/ROUTER echo")
  var rows: [(String, Int, LoadResult)] = []
  for curve in [false, true] {
    for inFlight in levels {
      let result = try RawZeroMQ.echo(curve: curve, inFlight: inFlight, seconds: pointSeconds)
      raw[curve, default: [:]][inFlight] = result
      rows.append((curve ? "libzmq CURVE" : "libzmq", inFlight, result))
    }
  }
  table("Raw libzmq: DEALER/ROUTER echo of 64 bytes, tcp loopback (the transport's limit)", unit: "round trips/s", rows: rows)
}

// MARK: - Unary and streaming calls

var ping: [TransportKind: [Int: LoadResult]] = [:]
if wanted("ping") {
  var rows: [(String, Int, LoadResult)] = []
  for kind in TransportKind.allCases {
    note("unary Ping over \(kind.rawValue)")
    let results = try await withPeers(kind, services: [DiagnosticsService(role: "bench")], identities: ["110000"]) { clients in
      _ = try await clients.ping("110000")
      var results: [Int: LoadResult] = [:]
      for inFlight in levels {
        results[inFlight] = await closedLoop(inFlight: inFlight, length: .seconds(pointSeconds), warmUp: warmUp) { _ in
          try await clients.ping("110000")
        }
      }
      return results
    }
    ping[kind] = results
    for inFlight in levels { rows.append((kind.rawValue, inFlight, results[inFlight]!)) }
  }
  table("Unary Ping (Diagnostics/Ping), one client connection", unit: "calls/s", rows: rows)
  if let curve = ping[.zeroMQCurve], let rawCurve = raw[true] {
    addRatio("Ping ZeroMQ+CURVE / raw libzmq CURVE, 100 in flight (calls/s)", curve[100]!.rate / rawCurve[100]!.rate, target: "≥ 0.20")
    addRatio("Ping ZeroMQ+CURVE / raw libzmq CURVE, 1 in flight (calls/s)", curve[1]!.rate / rawCurve[1]!.rate, target: "≥ 0.5")
  }
  if let plain = ping[.zeroMQ], let rawPlain = raw[false] {
    addRatio("Ping ZeroMQ / raw libzmq, 100 in flight (calls/s)", plain[100]!.rate / rawPlain[100]!.rate)
    addRatio("Ping ZeroMQ / raw libzmq, 1 in flight (calls/s)", plain[1]!.rate / rawPlain[1]!.rate)
  }
  if let curve = ping[.zeroMQCurve], let http2 = ping[.http2] {
    for inFlight in levels {
      addRatio("Ping ZeroMQ+CURVE / HTTP/2, \(inFlight) in flight (calls/s)", curve[inFlight]!.rate / http2[inFlight]!.rate, target: "≥ 1")
      addRatio("Ping HTTP/2 p99 / ZeroMQ+CURVE p99, \(inFlight) in flight", http2[inFlight]!.p99 / curve[inFlight]!.p99, target: "≥ 1")
    }
  }
}

if wanted("stream") {
  let messages: UInt32 = smoke ? 10 : 1000
  var rows: [(String, Int, LoadResult)] = []
  var streaming: [TransportKind: [Int: LoadResult]] = [:]
  for kind in TransportKind.allCases {
    note("server streaming Count over \(kind.rawValue)")
    let results = try await withPeers(kind, services: [DiagnosticsService(role: "bench")], identities: ["110000"]) { clients in
      _ = try await clients.count("110000", 1)
      var results: [Int: LoadResult] = [:]
      for inFlight in levels {
        var result = await closedLoop(inFlight: inFlight, length: .seconds(pointSeconds), warmUp: warmUp) { _ in
          let received = try await clients.count("110000", messages)
          guard received == messages else { throw BenchFailure("Count gave \(received) of \(messages) messages") }
        }
        // Messages per second; latencies stay per stream.
        result.calls *= Int(messages)
        results[inFlight] = result
      }
      return results
    }
    streaming[kind] = results
    for inFlight in levels { rows.append((kind.rawValue, inFlight, results[inFlight]!)) }
  }
  table("Server streaming (Diagnostics/Count, \(messages) messages a stream); p50/p99 per whole stream", unit: "messages/s", rows: rows)
  if let curve = streaming[.zeroMQCurve], let http2 = streaming[.http2] {
    for inFlight in levels {
      addRatio("Count ZeroMQ+CURVE / HTTP/2, \(inFlight) streams (messages/s)", curve[inFlight]!.rate / http2[inFlight]!.rate, target: "≥ 1")
    }
  }
}

// MARK: - Submit end to end

var submit: [TransportKind: [Int: LoadResult]] = [:]
if wanted("submit") {
  let calls: [Int: Int] = smoke ? [1: 3, 10: 20, 50: 50, 200: 200] : [1: 200, 10: 1000, 50: 2000, 200: 3000]
  note("SQLite alone: batched INSERT")
  let batched = try SQLiteLimits.batchedInsertRate(rows: smoke ? 200 : 10_000)
  let commit = try SQLiteLimits.commitLatency(commits: smoke ? 5 : 200)
  var rows: [(String, Int, LoadResult)] = []
  for kind in [TransportKind.zeroMQCurve, .http2] {
    note("Submit end to end over \(kind.rawValue)")
    let bench = try await SubmitBench.make(calls: calls.values.reduce(0, +) + 1)
    let results = try await withPeers(kind, services: [bench.service()], identities: bench.reporters) { clients in
      let next = Counter()
      var results: [Int: LoadResult] = [:]
      for inFlight in submitLevels {
        results[inFlight] = await closedLoop(inFlight: inFlight, length: .calls(calls[inFlight]!)) { _ in
          let (reporter, submission) = try bench.submission(next.next())
          try await clients.submit(reporter, submission)
        }
      }
      return results
    }
    submit[kind] = results
    for inFlight in submitLevels { rows.append((kind.rawValue, inFlight, results[inFlight]!)) }
    await bench.close()
  }
  table("Submit end to end (ReportIngest, SQLite WAL synchronous=FULL, one connection per reporter, 10 reporters)", unit: "stored/s", rows: rows)
  say("SQLite alone on this disk: \(rate(batched)) rows/s in batches of 100 rows of 2 KiB; one 1-row commit p50 \(ms(commit)) ms")
  say()
  if let curve = submit[.zeroMQCurve] {
    addRatio("Submit ZeroMQ+CURVE, 50 in flight / SQLite 100-row batched insert", curve[50]!.rate / batched, target: "≥ 0.25")
    addRatio("Submit ZeroMQ+CURVE, 200 in flight / SQLite 100-row batched insert", curve[200]!.rate / batched, target: "≥ 0.25")
    if let rawCurve = raw[true]?[1] {
      addRatio("Submit ZeroMQ+CURVE p99, 1 in flight / (SQLite commit + raw CURVE round trip)", curve[1]!.p99 / (commit + rawCurve.p50), target: "≤ 2")
    }
    if let http2 = submit[.http2] {
      for inFlight in submitLevels {
        addRatio("Submit ZeroMQ+CURVE / HTTP/2, \(inFlight) in flight (stored/s)", curve[inFlight]!.rate / http2[inFlight]!.rate, target: "≥ 1")
        addRatio("Submit HTTP/2 p99 / ZeroMQ+CURVE p99, \(inFlight) in flight", http2[inFlight]!.p99 / curve[inFlight]!.p99, target: "≥ 1")
      }
    }
  }
}

// MARK: - The daemons as processes

if wanted("process") {
  note("idle cost and backlog drain of real aggregator and node processes")
  let (idle, drain) = try await ProcessBench.run(settleSeconds: smoke ? 0.5 : 5, idleSeconds: smoke ? 1 : 20, backlog: smoke ? 10 : 1000)
  say("### The daemons as processes (`hitech aggregator run`, `hitech node run`)")
  say()
  say("| what | aggregator | node |")
  say("|---|---:|---:|")
  say("| idle CPU, % of one core over \(smoke ? 1 : 20) s | \(String(format: "%.3f", idle.aggregatorCPU)) | \(String(format: "%.3f", idle.nodeCPU)) |")
  say("| idle resident memory, MiB | \(String(format: "%.1f", idle.aggregatorRSS)) | \(String(format: "%.1f", idle.nodeRSS)) |")
  say()
  say("A node drained a backlog of \(drain.files) report files in \(String(format: "%.2f", drain.seconds)) s: \(rate(drain.rate)) files/s.")
  say()
  addRatio("idle CPU %, aggregator", idle.aggregatorCPU, target: "< 0.1")
  addRatio("idle CPU %, node", idle.nodeCPU, target: "< 0.1")
  addRatio("idle RSS MB, aggregator", idle.aggregatorRSS * 1.048576, target: "< 30")
  addRatio("idle RSS MB, node", idle.nodeRSS * 1.048576, target: "< 30")
  if let curve = submit[.zeroMQCurve]?[50] {
    addRatio("node drain (files/s) / Submit ZeroMQ+CURVE at 50 in flight", drain.rate / curve.rate, target: "≥ 0.8")
  }
}

if !ratios.isEmpty {
  say("### Ratios (same run)")
  say()
  say("| what | value | target |")
  say("|---|---:|---|")
  for (what, value, target) in ratios { say("| \(what) | \(value) | \(target) |") }
  say()
}

/// Hands out 0, 1, 2, … to concurrent callers.
final class Counter: Sendable {
  private let value = Atomic<Int>(0)
  func next() -> Int { value.wrappingAdd(1, ordering: .relaxed).oldValue }
}
