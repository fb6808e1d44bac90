import Foundation
import Testing
@testable import ZeroMQ

/// Receives one multipart message, polling so a lost message fails the test instead of hanging it.
func receive(_ socket: ZMQSocket, within timeout: Duration = .seconds(5)) throws -> [ZMQMessage]? {
  var poller = ZMQPoller()
  poller.add(socket)
  guard try poller.poll(timeout: timeout) > 0 else { return nil }
  return try socket.receiveMultipart(dontWait: true)
}

@Suite("ZeroMQ binding: socket patterns")
struct SocketPatternTests {
  @Test("PUSH/PULL over tcp carries bytes exactly")
  func pushPull() throws {
    let context = try ZMQContext()
    let pull = try ZMQSocket(context: context, type: .pull)
    try pull.bind("tcp://127.0.0.1:*")
    let endpoint = try #require(pull.lastEndpoint)
    #expect(endpoint.hasPrefix("tcp://127.0.0.1:"))
    let push = try ZMQSocket(context: context, type: .push)
    try push.set(.linger(.zero))
    try push.connect(endpoint)
    let payload: [UInt8] = (0..<1000).map { UInt8($0 % 256) }
    try push.send(bytes: payload)
    let frames = try #require(try receive(pull))
    #expect(frames.count == 1)
    #expect(frames[0].bytes == payload)
  }

  @Test("DEALER/ROUTER keeps multipart messages whole and routes replies back")
  func dealerRouter() throws {
    let context = try ZMQContext()
    let router = try ZMQSocket(context: context, type: .router)
    try router.set(.routerMandatory(true))
    try router.bind("inproc://router-test")
    let dealer = try ZMQSocket(context: context, type: .dealer)
    try dealer.set(.routingID(Array("node-1".utf8)))
    try dealer.connect("inproc://router-test")

    try dealer.send([ZMQMessage(string: "a"), ZMQMessage(), ZMQMessage(string: "ccc")])
    let request = try #require(try receive(router))
    #expect(request.map(\.count) == [6, 1, 0, 3])
    #expect(request[0].string == "node-1")
    #expect(request[3].string == "ccc")

    try router.send([ZMQMessage(request[0].bytes), ZMQMessage(string: "reply")])
    let reply = try #require(try receive(dealer))
    #expect(reply.map { $0.string } == ["reply"])

    // A ROUTER with routerMandatory reports an unknown peer instead of dropping silently.
    #expect(throws: ZMQError.self) {
      try router.send([ZMQMessage(string: "nobody"), ZMQMessage(string: "x")])
    }
    do {
      try router.send([ZMQMessage(string: "nobody"), ZMQMessage(string: "x")])
    } catch let error as ZMQError {
      #expect(error.isHostUnreachable)
    }
  }

  @Test("PUB/SUB filters by prefix")
  func publishSubscribe() throws {
    let context = try ZMQContext()
    let publisher = try ZMQSocket(context: context, type: .publisher)
    try publisher.bind("inproc://pubsub")
    let subscriber = try ZMQSocket(context: context, type: .subscriber)
    try subscriber.set(.subscribe(Array("round.".utf8)))
    try subscriber.connect("inproc://pubsub")
    // Subscriptions travel asynchronously; publish until one arrives.
    var received: [ZMQMessage]?
    for _ in 0..<100 where received == nil {
      try publisher.send([ZMQMessage(string: "other.topic")])
      try publisher.send([ZMQMessage(string: "round.opened"), ZMQMessage(string: "2025")])
      received = try receive(subscriber, within: .milliseconds(50))
    }
    let frames = try #require(received)
    #expect(frames.map { $0.string } == ["round.opened", "2025"])
  }

  @Test("PAIR over ipc, and a nonblocking receive on an empty socket returns nil")
  func pairOverIPC() throws {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("zmq-pair-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: path) }
    let context = try ZMQContext()
    let a = try ZMQSocket(context: context, type: .pair)
    try a.bind("ipc://\(path)")
    let b = try ZMQSocket(context: context, type: .pair)
    try b.set(.linger(.zero))
    try b.connect("ipc://\(path)")
    #expect(try a.receive(dontWait: true) == nil)
    try b.send(bytes: [1, 2, 3])
    #expect(try receive(a)?.first?.bytes == [1, 2, 3])
  }

  @Test("a send with dontWait reports a full queue instead of blocking")
  func highWaterMark() throws {
    let context = try ZMQContext()
    let push = try ZMQSocket(context: context, type: .push)
    try push.set(.linger(.zero))
    try push.set(.sendHighWaterMark(10))
    try push.set(.immediate(false))
    try push.connect("tcp://127.0.0.1:1")  // nothing there; messages queue on the pipe
    var accepted = 0
    while try push.send(bytes: [0], dontWait: true), accepted < 10_000 { accepted += 1 }
    #expect(accepted >= 10 && accepted < 10_000)
  }
}

@Suite("ZeroMQ binding: frames, errors, polling")
struct FrameAndErrorTests {
  @Test("frames read in place, copy on request, and own donated buffers")
  func frames() throws {
    let frame = ZMQMessage(bytes: [9, 8, 7][...])
    #expect(frame.count == 3)
    #expect(frame.withUnsafeBytes { $0.reduce(0) { $0 + Int($1) } } == 24)
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 4, alignment: 1)
    buffer.copyBytes(from: [1, 2, 3, 4])
    let donated = ZMQMessage(takingOwnershipOf: buffer)
    #expect(donated.bytes == [1, 2, 3, 4])
    #expect(ZMQMessage(string: "名").string == "名")
    #expect(ZMQMessage([0xff, 0xfe]).string == nil)
  }

  @Test("errors carry errno and libzmq's text")
  func errors() throws {
    let context = try ZMQContext()
    let socket = try ZMQSocket(context: context, type: .router)
    do {
      try socket.bind("nonsense://here")
      Issue.record("bind to a malformed endpoint succeeded")
    } catch let error as ZMQError {
      #expect(error.errno != 0)
      #expect(!error.message.isEmpty)
      #expect(error.description.contains("zmq_bind(nonsense://here)"))
    }
    socket.close()
    #expect(throws: ZMQError.self) { try socket.bind("tcp://127.0.0.1:*") }
  }

  @Test("a poll with nothing ready times out")
  func pollTimeout() throws {
    let context = try ZMQContext()
    let pull = try ZMQSocket(context: context, type: .pull)
    try pull.bind("inproc://quiet")
    var poller = ZMQPoller()
    poller.add(pull)
    let start = ContinuousClock.now
    #expect(try poller.poll(timeout: .milliseconds(50)) == 0)
    #expect(ContinuousClock.now - start >= .milliseconds(45))
  }

  @Test("an eventfd wakes a poller from another thread")
  func eventFDWakesPoller() throws {
    let wakeup = try EventFD()
    var poller = ZMQPoller()
    let index = poller.add(fileDescriptor: wakeup.fileDescriptor)
    let thread = OSThread(name: "waker") { wakeup.signal() }
    #expect(try poller.poll(timeout: .seconds(5)) == 1)
    #expect(poller.events(at: index).contains(.readable))
    thread.join()
    wakeup.drain()
    #expect(try poller.poll(timeout: .zero) == 0)
  }

  @Test("the monitor reports connection events")
  func monitor() throws {
    let context = try ZMQContext()
    let server = try ZMQSocket(context: context, type: .router)
    try server.bind("tcp://127.0.0.1:*")
    let client = try ZMQSocket(context: context, type: .dealer)
    try client.set(.linger(.zero))
    try client.startMonitor(endpoint: "inproc://monitor-test")
    let monitor = try ZMQSocketMonitor(context: context, endpoint: "inproc://monitor-test")
    try client.connect(server.lastEndpoint!)
    var kinds: ZMQSocketEvent.Kind = []
    let deadline = ContinuousClock.now + .seconds(5)
    while !kinds.contains(.handshakeSucceeded) && ContinuousClock.now < deadline {
      if let frames = try receive(monitor.socket, within: .milliseconds(100)), let event = ZMQSocketEvent(frames: frames) {
        kinds.insert(event.kind)
      }
    }
    #expect(kinds.contains(.connected))
    #expect(kinds.contains(.handshakeSucceeded))
  }
}

@Suite("ZeroMQ binding: CURVE and ZAP")
struct CurveTests {
  @Test("Z85 matches the RFC 32 test vector and rejects bad input")
  func z85() throws {
    let bytes: [UInt8] = [0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B]
    #expect(try Z85.encode(bytes) == "HelloWorld")
    #expect(try Z85.decode("HelloWorld") == bytes)
    #expect(throws: ZMQError.self) { try Z85.encode([1, 2, 3]) }
    #expect(throws: ZMQError.self) { try Z85.decode("Hell") }
  }

  @Test("key pairs: generated, derived from the secret, and never printed")
  func keyPairs() throws {
    let pair = try CurveKeyPair.generate()
    #expect(pair.publicKey.z85.utf8.count == 40)
    #expect(pair.publicKey != pair.secretKey)
    let derived = try CurveKeyPair(secretKey: pair.secretKey)
    #expect(derived.publicKey == pair.publicKey)
    #expect(try CurveKey(z85: " \(pair.publicKey.z85)\n") == pair.publicKey)
    #expect(!"\(pair)".contains(pair.secretKey.z85))
    #expect(!"\(pair.secretKey)".contains(pair.secretKey.z85))
    #expect(throws: ZMQError.self) { try CurveKey(z85: "short") }
  }

  @Test("a ZAP handler admits listed keys with their identity and refuses the rest")
  func zap() throws {
    let context = try ZMQContext()
    let serverKeys = try CurveKeyPair.generate()
    let allowed = try CurveKeyPair.generate()
    let stranger = try CurveKeyPair.generate()
    let policy = CurveAllowList([allowed.publicKey: "330200"])
    let authenticator = try ZAPAuthenticator(context: context, policy: policy, recordDecisions: true)
    defer { authenticator.stop() }

    let server = try ZMQSocket(context: context, type: .router)
    try server.set(.curveServer(true))
    try server.set(.curvePublicKey(serverKeys.publicKey))
    try server.set(.curveSecretKey(serverKeys.secretKey))
    try server.set(.zapDomain("test"))
    try server.bind("tcp://127.0.0.1:*")
    let endpoint = server.lastEndpoint!

    func client(_ keys: CurveKeyPair) throws -> ZMQSocket {
      let socket = try ZMQSocket(context: context, type: .dealer)
      try socket.set(.linger(.zero))
      try socket.set(.curvePublicKey(keys.publicKey))
      try socket.set(.curveSecretKey(keys.secretKey))
      try socket.set(.curveServerKey(serverKeys.publicKey))
      try socket.connect(endpoint)
      return socket
    }

    let good = try client(allowed)
    try good.send(bytes: Array("hello".utf8))
    let frames = try #require(try receive(server))
    #expect(frames[1].string == "hello")
    #expect(frames[1].property("User-Id") == "330200")
    // The ZAP reply's metadata names the key on every message of the connection.
    #expect(frames[1].property(ZAPAuthenticator.curveKeyProperty) == allowed.publicKey.z85)

    let bad = try client(stranger)
    try bad.send(bytes: Array("let me in".utf8))
    #expect(try receive(server, within: .milliseconds(500)) == nil)

    let decisions = authenticator.recordedDecisions
    #expect(decisions.contains { $0.0.curvePublicKey == allowed.publicKey && $0.1 == .allow(userID: "330200") && $0.0.domain == "test" })
    #expect(decisions.contains { $0.0.curvePublicKey == stranger.publicKey && $0.1 != .allow(userID: "330200") })

    // Keys can be registered while running.
    policy.allow(stranger.publicKey, as: "210200")
    let later = try client(stranger)
    try later.send(bytes: Array("now?".utf8))
    let admitted = try #require(try receive(server))
    #expect(admitted[1].property("User-Id") == "210200")
  }

  @Test("an allow list is asked again about a connection's key: revoked or re-registered, it no longer allows")
  func stillAllows() throws {
    let key = try CurveKeyPair.generate().publicKey
    let list = CurveAllowList([key: "330200"])
    #expect(list.stillAllows(publicKey: key, userID: "330200"))
    #expect(!list.stillAllows(publicKey: key, userID: "210200"))
    list.allow(key, as: "210200")
    #expect(!list.stillAllows(publicKey: key, userID: "330200"))
    list.revoke(key)
    #expect(!list.stillAllows(publicKey: key, userID: "210200"))

    /// A policy without its own answer asks `decide` again.
    struct OnlyDecides: ZAPPolicy {
      let key: CurveKey
      func decide(_ request: ZAPRequest) -> ZAPDecision {
        request.curvePublicKey == key ? .allow(userID: "330200") : .deny(reason: "no")
      }
    }
    #expect(OnlyDecides(key: key).stillAllows(publicKey: key, userID: "330200"))
    #expect(!OnlyDecides(key: key).stillAllows(publicKey: try CurveKeyPair.generate().publicKey, userID: "330200"))
  }

  @Test("ZAP metadata is encoded as ZMTP properties")
  func zapMetadata() {
    let bytes = ZAPAuthenticator.encodeProperties([("X-A", Array("bc".utf8))])
    #expect(bytes == [3] + Array("X-A".utf8) + [0, 0, 0, 2] + Array("bc".utf8))
  }

  @Test("a malformed ZAP request is answered with status 500")
  func malformedZAPRequest() {
    let reply = ZAPAuthenticator.reply(to: [ZMQMessage(string: "0.9"), ZMQMessage(string: "7")], policy: CurveAllowList(), decisions: nil)
    #expect(reply.count == 6)
    #expect(reply[1].string == "7")
    #expect(reply[2].string == "500")
  }
}
