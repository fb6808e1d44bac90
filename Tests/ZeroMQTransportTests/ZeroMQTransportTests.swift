import Foundation
import Logging
import GRPCCore
import ServiceLifecycle
import Synchronization
import Testing
import ZeroMQ
import ZeroMQTransport

@Suite("ZeroMQ transport: RPC kinds", .timeLimit(.minutes(2)))
struct TransportRPCTests {
  @Test("unary call carries message, metadata and trailers")
  func unary() async throws {
    try await withEchoServer { endpoint in
      try await withEchoClient(endpoint: endpoint) { client in
        var options = CallOptions.defaults
        options.timeout = .seconds(5)
        let (text, kind, trailer) = try await client.unary(
          request: ClientRequest(message: Array("hello".utf8), metadata: ["x-note-bin": .binary([0, 1, 255])]),
          descriptor: EchoService.get,
          serializer: BytesCodec(),
          deserializer: BytesCodec(),
          options: options
        ) { response in
          (String(decoding: try response.message, as: UTF8.self),
           Array(response.metadata[stringValues: "echo-kind"]),
           Array(response.trailingMetadata[stringValues: "echo-trailer"]))
        }
        #expect(text == "hello")
        #expect(kind == ["get"])
        #expect(trailer == ["done"])
      }
    }
  }

  @Test("an error status reaches the client with its code")
  func errorStatus() async throws {
    try await withEchoServer { endpoint in
      try await withEchoClient(endpoint: endpoint) { client in
        let code = await rpcCode { _ = try await client.get("fail:9") }
        #expect(code == .failedPrecondition)
        let unknown = await rpcCode {
          _ = try await client.unary(
            request: ClientRequest(message: [1]),
            descriptor: MethodDescriptor(fullyQualifiedService: "test.Echo", method: "Missing"),
            serializer: BytesCodec(), deserializer: BytesCodec(), options: .defaults
          ) { try $0.message }
        }
        #expect(unknown == .unimplemented)
      }
    }
  }

  @Test("1,000 concurrent unary calls over one client socket")
  func concurrentUnary() async throws {
    try await withEchoServer { endpoint in
      try await withEchoClient(endpoint: endpoint) { client in
        let replies = try await withThrowingTaskGroup(of: Bool.self) { group in
          for index in 0..<1000 {
            group.addTask { try await client.get("call-\(index)") == "call-\(index)" }
          }
          var matched = 0
          for try await ok in group where ok { matched += 1 }
          return matched
        }
        #expect(replies == 1000)
      }
    }
  }

  @Test("server streaming of 10,000 messages arrives complete and in order")
  func serverStreaming() async throws {
    try await withEchoServer { endpoint in
      try await withEchoClient(endpoint: endpoint) { client in
        let received = try await client.serverStreaming(
          request: ClientRequest(message: Array("10000".utf8)),
          descriptor: EchoService.expand,
          serializer: BytesCodec(),
          deserializer: BytesCodec(),
          options: .defaults
        ) { response in
          var expected = 0
          for try await message in response.messages {
            guard String(decoding: message, as: UTF8.self) == String(expected) else { return -1 }
            expected += 1
          }
          return expected
        }
        #expect(received == 10_000)
      }
    }
  }

  @Test("client streaming of 10,000 messages is counted by the server")
  func clientStreaming() async throws {
    try await withEchoServer { endpoint in
      try await withEchoClient(endpoint: endpoint) { client in
        let summary = try await client.clientStreaming(
          request: StreamingClientRequest(of: [UInt8].self) { writer in
            for _ in 0..<10_000 { try await writer.write([UInt8](repeating: 7, count: 100)) }
          },
          descriptor: EchoService.collect,
          serializer: BytesCodec(),
          deserializer: BytesCodec(),
          options: .defaults
        ) { String(decoding: try $0.message, as: UTF8.self) }
        #expect(summary == "10000 1000000")
      }
    }
  }

  @Test("bidirectional streaming echoes 10,000 messages each way")
  func bidirectional() async throws {
    try await withEchoServer { endpoint in
      try await withEchoClient(endpoint: endpoint) { client in
        let count = try await client.bidirectionalStreaming(
          request: StreamingClientRequest(of: [UInt8].self) { writer in
            for index in 0..<10_000 { try await writer.write(Array(String(index).utf8)) }
          },
          descriptor: EchoService.update,
          serializer: BytesCodec(),
          deserializer: BytesCodec(),
          options: .defaults
        ) { response in
          var expected = 0
          for try await message in response.messages {
            guard String(decoding: message, as: UTF8.self) == String(expected) else { return -1 }
            expected += 1
          }
          return expected
        }
        #expect(count == 10_000)
      }
    }
  }

  @Test("calls work over an ipc:// endpoint")
  func ipcEndpoint() async throws {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("zmq-test-\(UUID().uuidString).sock").path
    defer { try? FileManager.default.removeItem(atPath: path) }
    try await withEchoServer(endpoint: "ipc://\(path)") { endpoint in
      try await withEchoClient(endpoint: endpoint) { client in
        let reply1 = try await client.get("over ipc")
        #expect(reply1 == "over ipc")
      }
    }
  }
}

@Suite("ZeroMQ transport: failures", .timeLimit(.minutes(2)))
struct TransportFailureTests {
  @Test("a deadline shorter than the handler gives deadlineExceeded")
  func deadlineExceeded() async throws {
    try await withEchoServer { endpoint in
      try await withEchoClient(endpoint: endpoint) { client in
        let start = ContinuousClock.now
        // The handler would take 6 s; the call must end at its 200 ms deadline, long before.
        // (The bound is loose: parallel suites load this 2-core machine.)
        let code = await rpcCode { _ = try await client.get("sleep:6000", timeout: .milliseconds(200)) }
        #expect(code == .deadlineExceeded)
        #expect(ContinuousClock.now - start < .seconds(5))
        // The connection is still good afterwards.
        let reply2 = try await client.get("after")
        #expect(reply2 == "after")
      }
    }
  }

  @Test("a server stream blocked on credit ends at its deadline instead of running on")
  func streamingDeadline() async throws {
    let service = EchoService()
    try await withEchoServer(service: service) { endpoint in
      try await withEchoClient(endpoint: endpoint) { client in
        var options = CallOptions.defaults
        options.timeout = .milliseconds(300)
        let code = await rpcCode {
          try await client.serverStreaming(
            request: ClientRequest(message: Array("100000".utf8)),
            descriptor: EchoService.expand, serializer: BytesCodec(), deserializer: BytesCodec(), options: options
          ) { response in
            // Read one message, then stop reading: the server runs out of credit.
            var iterator = response.messages.makeAsyncIterator()
            _ = try await iterator.next()
            try await Task.sleep(for: .seconds(10))
          }
        }
        #expect(code == .deadlineExceeded || code == .cancelled)
        // Generous: the parallel suites load this 2-core machine; "running on" is for good.
        let deadline = ContinuousClock.now + .seconds(20)
        while service.expandsEnded.value == 0 && ContinuousClock.now < deadline {
          try await Task.sleep(for: .milliseconds(20))
        }
        #expect(service.expandsEnded.value == 1)
      }
    }
  }

  @Test("no server: calls fail with unavailable well within their deadline")
  func serverAbsent() async throws {
    let endpoint = try unusedLoopbackEndpoint()
    try await withEchoClient(endpoint: endpoint) { client in
      let start = ContinuousClock.now
      // UNAVAILABLE (not DEADLINE_EXCEEDED) and well before the 30 s deadline; the bound is
      // loose because parallel suites load this 2-core machine.
      let code = await rpcCode { _ = try await client.get("anyone?", timeout: .seconds(30)) }
      #expect(code == .unavailable)
      #expect(ContinuousClock.now - start < .seconds(20))
    }
  }

  @Test("the client recovers by itself when the server restarts")
  func serverRestart() async throws {
    let endpoint = try unusedLoopbackEndpoint()
    try await withEchoClient(endpoint: endpoint) { client in
      try await withEchoServer(endpoint: endpoint) { _ in
        let reply3 = try await client.get("first life", waitForReady: true)
        #expect(reply3 == "first life")
      }
      // Server gone: fail fast with unavailable.
      let code = await rpcCode { _ = try await client.get("nobody", timeout: .seconds(5)) }
      #expect(code == .unavailable)
      try await withEchoServer(endpoint: endpoint) { _ in
        // Same client, no restart: it reconnects within its reconnect interval.
        var reply: String?
        let deadline = ContinuousClock.now + .seconds(20)
        while reply == nil && ContinuousClock.now < deadline {
          reply = try? await client.get("second life", timeout: .seconds(2))
          if reply == nil { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(reply == "second life")
      }
    }
  }

  @Test("waitForReady calls wait for a server that starts later")
  func waitForReady() async throws {
    let endpoint = try unusedLoopbackEndpoint()
    try await withEchoClient(endpoint: endpoint) { client in
      let call = Task { try await client.get("patient", timeout: .seconds(20), waitForReady: true) }
      try await Task.sleep(for: .milliseconds(500))
      try await withEchoServer(endpoint: endpoint) { _ in
        let reply = try await call.value
        #expect(reply == "patient")
      }
    }
  }

  @Test("oversized requests get resourceExhausted, from the client or the server")
  func oversized() async throws {
    let server = ZeroMQTransport.Server.Configuration(maxRequestMessageBytes: 64 * 1024)
    try await withEchoServer(configuration: server) { endpoint in
      // The client's own limit.
      let small = ZeroMQTransport.Client.Configuration(maxRequestMessageBytes: 1024)
      try await withEchoClient(endpoint: endpoint, configuration: small) { client in
        let code = await rpcCode { _ = try await client.get(bytes: [UInt8](repeating: 1, count: 2048)) }
        #expect(code == .resourceExhausted)
      }
      // The server's limit, with a client that allows more.
      try await withEchoClient(endpoint: endpoint) { client in
        let code = await rpcCode { _ = try await client.get(bytes: [UInt8](repeating: 1, count: 100_000)) }
        #expect(code == .resourceExhausted)
        // Other calls on the same connection are unaffected.
        let reply4 = try await client.get("still fine")
        #expect(reply4 == "still fine")
      }
    }
  }

  @Test("random garbage frames neither crash the server nor disturb other clients")
  func garbage() async throws {
    try await withEchoServer { endpoint in
      try await withEchoClient(endpoint: endpoint) { client in
        let reply5 = try await client.get("before")
        #expect(reply5 == "before")
        let context = try ZMQContext()
        let raw = try ZMQSocket(context: context, type: .dealer)
        try raw.set(.linger(.zero))
        try raw.connect(endpoint)
        var generator = SystemRandomNumberGenerator()
        for round in 0..<2000 {
          var frames: [ZMQMessage] = []
          for _ in 0..<Int.random(in: 1...5, using: &generator) {
            let size = Int.random(in: 0...64, using: &generator)
            var bytes = (0..<size).map { _ in UInt8.random(in: 0...255, using: &generator) }
            // Some frames look like real headers with random kinds and stream ids.
            if round % 3 == 0 && frames.isEmpty {
              bytes = [1, UInt8.random(in: 0...0x20, using: &generator)] + (0..<8).map { _ in UInt8.random(in: 0...255) }
            }
            frames.append(ZMQMessage(bytes))
          }
          try raw.send(frames)
          if round % 200 == 0 {
            let reply6 = try await client.get("during \(round)")
            #expect(reply6 == "during \(round)")
          }
        }
        // A frame far beyond any limit.
        try raw.send([ZMQMessage([1, 2] + [UInt8](repeating: 0, count: 8)), ZMQMessage([UInt8](repeating: 9, count: 20_000_000))])
        raw.close()
        let reply7 = try await client.get("after")
        #expect(reply7 == "after")
      }
      // A fresh client still gets served.
      try await withEchoClient(endpoint: endpoint) { client in
        let reply8 = try await client.get("new client")
        #expect(reply8 == "new client")
      }
    }
  }
}

@Suite("ZeroMQ transport: CURVE and identity", .timeLimit(.minutes(2)))
struct TransportSecurityTests {
  let serverKeys = try! CurveKeyPair.generate()
  let provinceA = try! CurveKeyPair.generate()
  let provinceB = try! CurveKeyPair.generate()
  let stranger = try! CurveKeyPair.generate()

  var security: ZeroMQTransport.Security {
    .curveServer(
      keyPair: serverKeys,
      policy: CurveAllowList([provinceA.publicKey: "110000", provinceB.publicKey: "440300"])
    )
  }

  @Test("a listed key is accepted and the handler sees its identity")
  func allowedKeyAndIdentity() async throws {
    try await withEchoServer(security: security) { endpoint in
      try await withEchoClient(
        endpoint: endpoint,
        security: .curveClient(keyPair: provinceA, serverPublicKey: serverKeys.publicKey)
      ) { client in
        let reply9 = try await client.get("whoami")
        #expect(reply9 == "110000")
      }
      try await withEchoClient(
        endpoint: endpoint,
        security: .curveClient(keyPair: provinceB, serverPublicKey: serverKeys.publicKey)
      ) { client in
        let reply10 = try await client.get("whoami")
        #expect(reply10 == "440300")
      }
    }
  }

  @Test("metadata cannot forge the identity")
  func metadataCannotForge() async throws {
    try await withEchoServer(security: security) { endpoint in
      try await withEchoClient(
        endpoint: endpoint,
        security: .curveClient(keyPair: provinceA, serverPublicKey: serverKeys.publicKey)
      ) { client in
        var options = CallOptions.defaults
        options.timeout = .seconds(5)
        let identity = try await client.unary(
          request: ClientRequest(message: Array("whoami".utf8), metadata: ["user-id": "440300", "User-Id": "440300"]),
          descriptor: EchoService.get, serializer: BytesCodec(), deserializer: BytesCodec(), options: options
        ) { String(decoding: try $0.message, as: UTF8.self) }
        #expect(identity == "110000")
      }
    }
  }

  @Test("an unlisted key is refused with unauthenticated")
  func unlistedKey() async throws {
    try await withEchoServer(security: security) { endpoint in
      try await withEchoClient(
        endpoint: endpoint,
        security: .curveClient(keyPair: stranger, serverPublicKey: serverKeys.publicKey)
      ) { client in
        let code = await rpcCode { _ = try await client.get("whoami", timeout: .seconds(5)) }
        #expect(code == .unauthenticated)
      }
    }
  }

  @Test("a client refused at first gets through once its key is allowed")
  func keyAllowedLater() async throws {
    let allowList = CurveAllowList([provinceA.publicKey: "110000"])
    let security = ZeroMQTransport.Security.curveServer(keyPair: serverKeys, policy: allowList)
    try await withEchoServer(security: security) { endpoint in
      try await withEchoClient(
        endpoint: endpoint,
        security: .curveClient(keyPair: stranger, serverPublicKey: serverKeys.publicKey)
      ) { client in
        do {
          _ = try await client.get("whoami", timeout: .seconds(5))
          Issue.record("a call with an unlisted key succeeded")
        } catch let error as RPCError {
          #expect(error.code == .unauthenticated)
          #expect(error.message.contains(stranger.publicKey.z85))
        }

        // Retries meanwhile are refused again, and calls keep failing the same way.
        try await Task.sleep(for: .milliseconds(500))
        let again = await rpcCode { _ = try await client.get("whoami", timeout: .seconds(5)) }
        #expect(again == .unauthenticated)

        allowList.allow(stranger.publicKey, as: "990000")
        // The client reconnects by itself; calls until then still fail fast.
        let clock = ContinuousClock()
        let giveUp = clock.now.advanced(by: .seconds(20))
        var reply: String?
        while reply == nil, clock.now < giveUp {
          reply = try? await client.get("whoami", timeout: .seconds(2))
          if reply == nil { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(reply == "990000")
      }
    }
  }

  @Test("a client without a key never reaches a handler")
  func noKey() async throws {
    try await withEchoServer(security: security) { endpoint in
      try await withEchoClient(endpoint: endpoint) { client in
        let code = await rpcCode { _ = try await client.get("whoami", timeout: .seconds(3)) }
        #expect(code == .unavailable || code == .unauthenticated || code == .deadlineExceeded)
      }
    }
  }

  @Test("a client trusting the wrong server key never reaches a handler")
  func wrongServerKey() async throws {
    try await withEchoServer(security: security) { endpoint in
      try await withEchoClient(
        endpoint: endpoint,
        security: .curveClient(keyPair: provinceA, serverPublicKey: stranger.publicKey)
      ) { client in
        let code = await rpcCode { _ = try await client.get("whoami", timeout: .seconds(3)) }
        #expect(code == .unavailable || code == .deadlineExceeded)
      }
    }
  }

  @Test("a plaintext server gives handlers no identity")
  func plaintextHasNoIdentity() async throws {
    try await withEchoServer { endpoint in
      try await withEchoClient(endpoint: endpoint) { client in
        let reply11 = try await client.get("whoami")
        #expect(reply11 == "<none>")
      }
    }
  }
}

@Suite("ZeroMQ transport: graceful shutdown", .timeLimit(.minutes(2)))
struct TransportShutdownTests {
  @Test("under service lifecycle, RPCs in flight finish and new ones are refused")
  func gracefulShutdown() async throws {
    let transport = ZeroMQTransport.Server(endpoint: "tcp://127.0.0.1:*", configuration: .init(logger: testLogger("server")))
    let service = EchoService()
    let server = GRPCServer(transport: transport, services: [service])
    let group = ServiceGroup(
      services: [GRPCServerService(server: server)],
      gracefulShutdownSignals: [],
      logger: .init(label: "test", factory: { _ in SwiftLogNoOpLogHandler() })
    )
    try await withThrowingTaskGroup(of: Void.self) { tasks in
      tasks.addTask { try await group.run() }
      let endpoint = try await transport.listeningEndpoint()
      try await withEchoClient(endpoint: endpoint) { client in
        let reply12 = try await client.get("warm up")
        #expect(reply12 == "warm up")
        try await withThrowingTaskGroup(of: String.self) { calls in
          for _ in 0..<20 {
            calls.addTask { try await client.get("sleep:500") }
          }
          // The warm-up call counts as one.
          while service.started.value < 21 { try await Task.sleep(for: .milliseconds(10)) }
          await group.triggerGracefulShutdown()
          try await Task.sleep(for: .milliseconds(50))
          let refused = await rpcCode { _ = try await client.get("too late", timeout: .seconds(2)) }
          #expect(refused == .unavailable)
          var finished = 0
          for try await reply in calls where reply == "sleep:500" { finished += 1 }
          #expect(finished == 20)
        }
      }
      try await tasks.waitForAll()
    }
  }
}

