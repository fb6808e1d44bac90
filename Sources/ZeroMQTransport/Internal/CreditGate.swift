import GRPCCore
import Synchronization

/// The sending side of a stream's flow control: a writer takes one credit per message and
/// waits when it has none; CREDIT frames from the receiver add more.
///
/// Writes on one stream are sequential (an `RPCWriter` is not written concurrently), so at
/// most one writer waits at a time.
@available(gRPCSwift 2.0, *)
final class CreditGate: Sendable {
  private struct State {
    var credit: Int
    var waiter: CheckedContinuation<Void, any Error>?
    var closedError: RPCError?
    /// The RPC was cancelled: writes that have credit still go out, but none waits for more.
    var cancelledError: RPCError?
  }

  private let state: Mutex<State>

  init(initialCredit: Int) {
    state = Mutex(State(credit: initialCredit))
  }

  /// Takes one credit, waiting for the receiver to grant more if there is none.
  func acquire() async throws {
    // Fast path: credit available.
    let acquired: Bool = try state.withLock { state in
      if let error = state.closedError { throw error }
      if state.credit > 0 {
        state.credit -= 1
        return true
      }
      return false
    }
    if acquired { return }
    try await withTaskCancellationHandler {
      try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
        let resume: Result<Void, any Error>? = state.withLock { state in
          if let error = state.closedError { return .failure(error) }
          if Task.isCancelled { return .failure(CancellationError()) }
          if state.credit > 0 {
            state.credit -= 1
            return .success(())
          }
          if let error = state.cancelledError { return .failure(error) }
          state.waiter = continuation
          return nil
        }
        if let resume { continuation.resume(with: resume) }
      }
    } onCancel: {
      let waiter = state.withLock { state -> CheckedContinuation<Void, any Error>? in
        defer { state.waiter = nil }
        return state.waiter
      }
      waiter?.resume(throwing: CancellationError())
    }
  }

  /// Adds credit granted by the receiver, waking a waiting writer.
  func add(_ count: Int) {
    let waiter = state.withLock { state -> CheckedContinuation<Void, any Error>? in
      state.credit += count
      guard let waiter = state.waiter, state.credit > 0 else { return nil }
      state.credit -= 1
      state.waiter = nil
      return waiter
    }
    waiter?.resume()
  }

  /// The RPC was cancelled (deadline, client, shutdown): a writer waiting for credit, and
  /// every later one that would wait, throws `error`; writes that have credit still go out.
  func cancelWaits(_ error: RPCError) {
    let waiter = state.withLock { state -> CheckedContinuation<Void, any Error>? in
      if state.cancelledError == nil { state.cancelledError = error }
      defer { state.waiter = nil }
      return state.waiter
    }
    waiter?.resume(throwing: error)
  }

  /// Ends the stream for writers: a waiting and every later `acquire()` throws `error`.
  func close(_ error: RPCError) {
    let waiter = state.withLock { state -> CheckedContinuation<Void, any Error>? in
      if state.closedError == nil { state.closedError = error }
      defer { state.waiter = nil }
      return state.waiter
    }
    waiter?.resume(throwing: error)
  }

  /// Throws if the stream was closed for writers.
  func checkOpen() throws {
    try state.withLock { state in
      if let error = state.closedError { throw error }
    }
  }
}
