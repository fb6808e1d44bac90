import GRPCCore
import Synchronization
import ZeroMQTransport

/// Messages of the test service are raw bytes (UTF-8 text where that reads better).
struct BytesCodec: MessageSerializer, MessageDeserializer {
  func serialize<Bytes: GRPCContiguousBytes>(_ message: [UInt8]) throws -> Bytes { Bytes(message) }
  func deserialize<Bytes: GRPCContiguousBytes>(_ bytes: Bytes) throws -> [UInt8] {
    bytes.withUnsafeBytes { Array($0) }
  }
}

/// A test service with one method of each RPC kind.
///
/// - `Get` (unary): echoes the request; `sleep:<ms>` sleeps first (ignoring cancellation
///   unless the RPC is cancelled); `whoami` answers the transport's authenticated user id;
///   `fail:<code>` fails with that status code.
/// - `Expand` (server streaming): the request is a count N; answers N messages "0"..."N-1".
/// - `Collect` (client streaming): answers "<messages> <bytes>".
/// - `Update` (bidirectional): echoes every message.
/// - `Single` (unary, as generated code reads it: `ServerRequest(stream:)`): echoes the request.
struct EchoService: RegistrableRPCService {
  /// Counts `Get` handlers that have started, for tests that need RPCs to be in flight.
  var started = Counter()
  /// Counts `Expand` handlers that have ended, however they ended.
  var expandsEnded = Counter()

  static let get = MethodDescriptor(fullyQualifiedService: "test.Echo", method: "Get")
  static let expand = MethodDescriptor(fullyQualifiedService: "test.Echo", method: "Expand")
  static let collect = MethodDescriptor(fullyQualifiedService: "test.Echo", method: "Collect")
  static let update = MethodDescriptor(fullyQualifiedService: "test.Echo", method: "Update")
  static let single = MethodDescriptor(fullyQualifiedService: "test.Echo", method: "Single")

  func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
    let started = self.started
    router.registerHandler(forMethod: Self.get, deserializer: BytesCodec(), serializer: BytesCodec()) {
      request, context in
      started.increment()
      var message: [UInt8] = []
      for try await part in request.messages { message = part }
      let text = String(decoding: message, as: UTF8.self)
      if text.hasPrefix("sleep:"), let millis = Int(text.dropFirst(6)) {
        try? await Task.sleep(for: .milliseconds(millis))
      } else if text == "whoami" {
        message = Array((context.zeroMQPeer?.userID ?? "<none>").utf8)
      } else if text.hasPrefix("fail:"), let raw = Int(text.dropFirst(5)), let code = RPCError.Code(Status.Code(rawValue: raw)!) {
        throw RPCError(code: code, message: "failed as asked")
      }
      let reply = message
      return StreamingServerResponse(of: [UInt8].self, metadata: ["echo-kind": "get"]) { writer in
        try await writer.write(reply)
        return ["echo-trailer": "done"]
      }
    }
    let expandsEnded = self.expandsEnded
    router.registerHandler(forMethod: Self.expand, deserializer: BytesCodec(), serializer: BytesCodec()) {
      request, _ in
      var count = 0
      for try await part in request.messages { count = Int(String(decoding: part, as: UTF8.self)) ?? 0 }
      let total = count
      return StreamingServerResponse(of: [UInt8].self) { writer in
        defer { expandsEnded.increment() }
        for index in 0..<total { try await writer.write(Array(String(index).utf8)) }
        return [:]
      }
    }
    router.registerHandler(forMethod: Self.collect, deserializer: BytesCodec(), serializer: BytesCodec()) {
      request, _ in
      var messages = 0
      var bytes = 0
      for try await part in request.messages {
        messages += 1
        bytes += part.count
      }
      let reply = Array("\(messages) \(bytes)".utf8)
      return StreamingServerResponse(of: [UInt8].self) { writer in
        try await writer.write(reply)
        return [:]
      }
    }
    router.registerHandler(forMethod: Self.single, deserializer: BytesCodec(), serializer: BytesCodec()) {
      request, _ in
      let single = try await ServerRequest(stream: request)
      return StreamingServerResponse(single: ServerResponse(message: single.message))
    }
    router.registerHandler(forMethod: Self.update, deserializer: BytesCodec(), serializer: BytesCodec()) {
      request, _ in
      StreamingServerResponse(of: [UInt8].self) { writer in
        for try await part in request.messages { try await writer.write(part) }
        return [:]
      }
    }
  }
}

final class Counter: Sendable {
  private let count = Mutex(0)
  func increment() { count.withLock { $0 += 1 } }
  var value: Int { count.withLock { $0 } }
}
