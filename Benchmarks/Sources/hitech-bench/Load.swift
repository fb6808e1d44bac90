import Foundation
import Synchronization

/// What one measured load gave: completed calls per second and the latency distribution.
struct LoadResult: Sendable {
  var calls: Int
  var seconds: Double
  var failures: Int
  var latencies: [Double]  // seconds, sorted

  var rate: Double { seconds > 0 ? Double(calls) / seconds : 0 }

  func percentile(_ p: Double) -> Double {
    guard !latencies.isEmpty else { return .nan }
    let index = min(latencies.count - 1, Int((Double(latencies.count) * p).rounded(.up)) - 1)
    return latencies[max(0, index)]
  }

  var p50: Double { percentile(0.50) }
  var p99: Double { percentile(0.99) }

  init(calls: Int, seconds: Double, failures: Int, latencies: [Double]) {
    self.calls = calls
    self.seconds = seconds
    self.failures = failures
    self.latencies = latencies.sorted()
  }
}

/// How long a load runs: for a time (calls that start before the end count), or for a number
/// of calls shared by the workers.
enum LoadLength: Sendable {
  case seconds(Double)
  case calls(Int)
}

/// A closed loop: `inFlight` workers, each starting its next call as soon as its last one
/// returns. `call(i)` makes call number `i` (0, 1, 2, … across all workers). A call that throws
/// counts as a failure; the first error is kept and printed.
func closedLoop(
  inFlight: Int,
  length: LoadLength,
  warmUp: Double = 0,
  _ call: @escaping @Sendable (Int) async throws -> Void
) async -> LoadResult {
  let counter = Counter()
  let firstError = FirstError()
  let limit: Int
  switch length {
  case .calls(let n): limit = n
  case .seconds: limit = Int.max
  }
  if warmUp > 0 {
    let end = ContinuousClock.now + .milliseconds(Int(warmUp * 1000))
    await withTaskGroup(of: Void.self) { group in
      for _ in 0..<inFlight {
        group.addTask {
          while ContinuousClock.now < end {
            let i = counter.next()
            try? await call(i)
          }
        }
      }
    }
  }
  let start = ContinuousClock.now
  let deadline: ContinuousClock.Instant? = {
    if case .seconds(let s) = length { return start + .milliseconds(Int(s * 1000)) }
    return nil
  }()
  let issued = Counter()
  let perWorker: [(Int, Int, [Double])] = await withTaskGroup(of: (Int, Int, [Double]).self) { group in
    for _ in 0..<inFlight {
      group.addTask {
        var latencies: [Double] = []
        var calls = 0
        var failures = 0
        while true {
          if let deadline, ContinuousClock.now >= deadline { break }
          if issued.next() >= limit { break }
          let i = counter.next()
          let began = ContinuousClock.now
          do {
            try await call(i)
            calls += 1
            latencies.append((ContinuousClock.now - began).seconds)
          } catch {
            failures += 1
            firstError.keep(error)
          }
        }
        return (calls, failures, latencies)
      }
    }
    var all: [(Int, Int, [Double])] = []
    for await result in group { all.append(result) }
    return all
  }
  let seconds = (ContinuousClock.now - start).seconds
  if let error = firstError.value {
    FileHandle.standardError.write(Data("hitech-bench: a call failed: \(error)\n".utf8))
  }
  return LoadResult(
    calls: perWorker.reduce(0) { $0 + $1.0 },
    seconds: seconds,
    failures: perWorker.reduce(0) { $0 + $1.1 },
    latencies: perWorker.flatMap { $0.2 }
  )
}

extension Duration {
  var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

/// The first error of a load, kept to be printed.
final class FirstError: Sendable {
  private let state = Mutex<String?>(nil)
  func keep(_ error: any Error) { state.withLock { if $0 == nil { $0 = "\(error)" } } }
  var value: String? { state.withLock { $0 } }
}
