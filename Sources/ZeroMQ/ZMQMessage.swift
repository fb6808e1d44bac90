import CZeroMQ

/// One frame of a ZeroMQ message: an owned `zmq_msg_t`.
///
/// The `zmq_msg_t` lives at a stable heap address for the frame's whole life, as libzmq
/// requires. Received frames are read in place through ``withUnsafeBytes(_:)``; nothing is copied
/// unless the caller asks for ``bytes``. Sending a frame hands its content to libzmq, after which
/// the frame is empty.
///
/// A frame is owned by one thread at a time, like the socket it came from.
public final class ZMQMessage {
  let pointer: UnsafeMutablePointer<zmq_msg_t>

  /// An empty frame, ready to receive into or to send as an empty part.
  public init() {
    pointer = .allocate(capacity: 1)
    zmq_msg_init(pointer)
  }

  /// A frame of `count` bytes, to be filled through ``withUnsafeMutableBytes(_:)``.
  public init(count: Int) {
    pointer = .allocate(capacity: 1)
    guard zmq_msg_init_size(pointer, count) == 0 else {
      // Only ENOMEM is possible: as fatal as any other allocation failure in Swift.
      fatalError("zmq_msg_init_size(\(count)) failed: out of memory")
    }
  }

  /// A frame holding a copy of `buffer`.
  public convenience init(copying buffer: UnsafeRawBufferPointer) {
    self.init(count: buffer.count)
    if let base = buffer.baseAddress, buffer.count > 0 {
      zmq_msg_data(pointer).copyMemory(from: base, byteCount: buffer.count)
    }
  }

  /// A frame holding a copy of `bytes`.
  public convenience init(_ bytes: [UInt8]) {
    self.init(count: bytes.count)
    bytes.withUnsafeBytes { source in
      if let base = source.baseAddress, source.count > 0 {
        zmq_msg_data(pointer).copyMemory(from: base, byteCount: source.count)
      }
    }
  }

  /// A frame holding a copy of any collection of bytes.
  public convenience init<Bytes: Collection>(bytes: Bytes) where Bytes.Element == UInt8 {
    self.init(count: bytes.count)
    withUnsafeMutableBytes { target in
      _ = target.initializeMemory(as: UInt8.self, from: bytes)
    }
  }

  /// A frame holding the UTF-8 bytes of `string`.
  public convenience init(string: String) {
    var string = string
    let count = string.utf8.count
    self.init(count: count)
    // Straight from the string's UTF-8 storage: no intermediate array.
    string.withUTF8 { source in
      if let base = source.baseAddress, count > 0 {
        zmq_msg_data(pointer).copyMemory(from: base, byteCount: count)
      }
    }
  }

  /// A frame that takes ownership of `buffer` without copying it; libzmq deallocates it when
  /// the last reference to the data is gone (possibly on one of its I/O threads).
  public init(takingOwnershipOf buffer: UnsafeMutableRawBufferPointer) {
    pointer = .allocate(capacity: 1)
    guard let base = buffer.baseAddress, buffer.count > 0 else {
      zmq_msg_init(pointer)
      buffer.deallocate()
      return
    }
    let free: @convention(c) (UnsafeMutableRawPointer?, UnsafeMutableRawPointer?) -> Void = { data, _ in
      data?.deallocate()
    }
    guard zmq_msg_init_data(pointer, base, buffer.count, free, nil) == 0 else {
      fatalError("zmq_msg_init_data failed: out of memory")
    }
  }

  deinit {
    zmq_msg_close(pointer)
    pointer.deallocate()
  }

  /// The number of bytes in the frame.
  public var count: Int { zmq_msg_size(pointer) }

  /// Whether more frames of the same message follow this one (set on received frames).
  public var hasMore: Bool { zmq_msg_more(pointer) != 0 }

  /// Reads the frame's bytes in place.
  public func withUnsafeBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
    let count = zmq_msg_size(pointer)
    guard count > 0, let data = zmq_msg_data(pointer) else {
      return try body(UnsafeRawBufferPointer(start: nil, count: 0))
    }
    return try body(UnsafeRawBufferPointer(start: data, count: count))
  }

  /// Writes the frame's bytes in place (before it is sent).
  public func withUnsafeMutableBytes<Result>(_ body: (UnsafeMutableRawBufferPointer) throws -> Result) rethrows -> Result {
    let count = zmq_msg_size(pointer)
    guard count > 0, let data = zmq_msg_data(pointer) else {
      return try body(UnsafeMutableRawBufferPointer(start: nil, count: 0))
    }
    return try body(UnsafeMutableRawBufferPointer(start: data, count: count))
  }

  /// A copy of the frame's bytes.
  public var bytes: [UInt8] {
    withUnsafeBytes { Array($0) }
  }

  /// The frame's bytes as UTF-8 text, or `nil` if they are not valid UTF-8.
  public var string: String? {
    withUnsafeBytes { buffer in
      String(validating: buffer.bindMemory(to: UInt8.self), as: UTF8.self)
    }
  }

  /// A metadata property of a received frame (`zmq_msg_gets`), e.g. `"User-Id"` (the identity
  /// that the ZAP handler returned for the connection), `"Peer-Address"`, `"Socket-Type"`.
  /// Only payload frames carry it, not the routing-id frame that a ROUTER socket prepends.
  public func property(_ name: String) -> String? {
    guard let value = zmq_msg_gets(pointer, name) else { return nil }
    return String(cString: value)
  }
}

extension ZMQMessage: CustomStringConvertible {
  public var description: String { "ZMQMessage(\(count) bytes)" }
}
