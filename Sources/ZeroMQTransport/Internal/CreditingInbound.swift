import GRPCCore

/// The receiving side of a stream's flow control: an inbound sequence that tells the peer it
/// may send more each time the application has consumed half a window of messages.
@available(gRPCSwift 2.0, *)
struct CreditingInbound<Part: Sendable>: AsyncSequence, Sendable {
  typealias Element = Part
  typealias Failure = any Error

  let base: AsyncThrowingStream<Part, any Error>
  let isMessage: @Sendable (Part) -> Bool
  let grantThreshold: Int
  let grant: @Sendable (Int) -> Void

  struct AsyncIterator: AsyncIteratorProtocol {
    var base: AsyncThrowingStream<Part, any Error>.AsyncIterator
    let isMessage: @Sendable (Part) -> Bool
    let grantThreshold: Int
    let grant: @Sendable (Int) -> Void
    var consumed = 0

    mutating func next() async throws -> Part? {
      guard let part = try await base.next() else { return nil }
      if isMessage(part) {
        consumed += 1
        if consumed >= grantThreshold {
          grant(consumed)
          consumed = 0
        }
      }
      return part
    }
  }

  func makeAsyncIterator() -> AsyncIterator {
    AsyncIterator(base: base.makeAsyncIterator(), isMessage: isMessage, grantThreshold: grantThreshold, grant: grant)
  }
}
