import Dispatch
import FuzzSupport
import GRPCCore
import Synchronization

/// A running GRPCServer with one echo method, fed one call at a time with given request
/// metadata, as the ZeroMQ server transport feeds it after decoding an OPEN.
@available(gRPCSwift 2.0, *)
final class GRPCCoreFeed: Sendable {
  private let transport = FeedTransport()

  init() {
    let server = GRPCServer(transport: transport, services: [EchoService()])
    Task { try await server.serve() }
  }

  /// One call with `metadata` and one message; returns when the server has ended it.
  func call(metadata: Metadata) {
    let (inbound, requests) = AsyncThrowingStream<RPCRequestPart<[UInt8]>, any Error>.makeStream()
    requests.yield(.metadata(metadata))
    requests.yield(.message([0x68, 0x69]))
    requests.finish()
    let responses = ResponseCollector()
    let stream = RPCStream(
      descriptor: EchoService.method,
      inbound: RPCAsyncSequence(wrapping: inbound),
      outbound: RPCWriter.Closable(wrapping: responses)
    )
    transport.streams.yield(stream)
    responses.done.wait()
    fuzzRequire(responses.endedWithStatus, "GRPCCore ended a call without a status (metadata \(metadata))")
  }
}

@available(gRPCSwift 2.0, *)
private final class FeedTransport: ServerTransport {
  typealias Bytes = [UInt8]
  let (newStreams, streams) = AsyncStream<RPCStream<Inbound, Outbound>>.makeStream()

  func listen(
    streamHandler: @escaping @Sendable (RPCStream<Inbound, Outbound>, ServerContext) async -> Void
  ) async throws {
    await withDiscardingTaskGroup { group in
      for await stream in newStreams {
        group.addTask {
          await withServerContextRPCCancellationHandle { handle in
            let context = ServerContext(descriptor: stream.descriptor, remotePeer: "fuzz", localPeer: "fuzz", cancellation: handle)
            await streamHandler(stream, context)
          }
        }
      }
    }
  }

  func beginGracefulShutdown() { streams.finish() }
}

@available(gRPCSwift 2.0, *)
private final class ResponseCollector: ClosableRPCWriterProtocol, Sendable {
  let done = DispatchSemaphore(value: 0)
  private let status = Mutex(false)
  var endedWithStatus: Bool { status.withLock { $0 } }

  func write(_ element: RPCResponsePart<[UInt8]>) async throws {
    if case .status = element { status.withLock { $0 = true } }
  }

  func write(contentsOf elements: some Sequence<RPCResponsePart<[UInt8]>>) async throws {
    for element in elements { try await write(element) }
  }

  func finish() async { done.signal() }
  func finish(throwing error: any Error) async { done.signal() }
}

@available(gRPCSwift 2.0, *)
private struct EchoService: RegistrableRPCService {
  static let method = MethodDescriptor(fullyQualifiedService: "fuzz.Echo", method: "Echo")

  func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
    router.registerHandler(forMethod: Self.method, deserializer: BytesCoder(), serializer: BytesCoder()) { request, _ in
      StreamingServerResponse { writer in
        for try await message in request.messages { try await writer.write(message) }
        return [:]
      }
    }
  }
}

@available(gRPCSwift 2.0, *)
private struct BytesCoder: MessageSerializer, MessageDeserializer {
  func serialize<Bytes: GRPCContiguousBytes>(_ message: [UInt8]) throws -> Bytes { Bytes(message) }
  func deserialize<Bytes: GRPCContiguousBytes>(_ bytes: Bytes) throws -> [UInt8] { bytes.withUnsafeBytes { Array($0) } }
}
