/// The building blocks of the canonical encodings (proto-schemas/RECEIPTS.md §2): strings as a
/// 32-bit big-endian byte count and their UTF-8 bytes, integers as fixed-width big-endian
/// two's complement, hashes as their 32 raw bytes. No optional parts, no padding, no trailing
/// bytes: one value has exactly one encoding.
struct CanonicalWriter {
  private(set) var bytes: [UInt8] = []

  mutating func string(_ value: String) {
    let utf8 = Array(value.utf8)
    uint32(UInt32(utf8.count))
    bytes.append(contentsOf: utf8)
  }

  mutating func uint32(_ value: UInt32) { fixed(value) }
  mutating func int32(_ value: Int32) { fixed(UInt32(bitPattern: value)) }
  mutating func uint64(_ value: UInt64) { fixed(value) }
  mutating func int64(_ value: Int64) { fixed(UInt64(bitPattern: value)) }
  mutating func hash(_ value: MerkleHash) { bytes.append(contentsOf: value.bytes) }

  private mutating func fixed<T: FixedWidthInteger>(_ value: T) {
    withUnsafeBytes(of: value.bigEndian) { bytes.append(contentsOf: $0) }
  }
}

/// Reads what ``CanonicalWriter`` wrote, refusing anything else.
struct CanonicalReader {
  private let bytes: [UInt8]
  private var offset = 0
  /// The longest string accepted (a reporter code, a submission id, …: all short).
  static let maximumStringBytes = 1024

  init(_ bytes: [UInt8]) {
    self.bytes = bytes
  }

  mutating func string(_ field: String) throws -> String {
    let count = Int(try uint32(field))
    guard count <= Self.maximumStringBytes else {
      throw TransparencyLogError.malformed("\(field): \(count) bytes, more than \(Self.maximumStringBytes)")
    }
    let raw = try take(count, field)
    guard let text = String(validating: raw, as: UTF8.self) else {
      throw TransparencyLogError.malformed("\(field): not UTF-8")
    }
    return text
  }

  mutating func uint32(_ field: String) throws -> UInt32 { try fixed(field) }
  mutating func int32(_ field: String) throws -> Int32 { Int32(bitPattern: try fixed(field)) }
  mutating func uint64(_ field: String) throws -> UInt64 { try fixed(field) }
  mutating func int64(_ field: String) throws -> Int64 { Int64(bitPattern: try fixed(field)) }
  mutating func hash(_ field: String) throws -> MerkleHash { MerkleHash(trusted: try take(32, field)) }

  func finish() throws {
    guard offset == bytes.count else {
      throw TransparencyLogError.malformed("\(bytes.count - offset) bytes after the end")
    }
  }

  private mutating func fixed<T: FixedWidthInteger>(_ field: String) throws -> T {
    var value: T = 0
    for byte in try take(MemoryLayout<T>.size, field) { value = value << 8 | T(byte) }
    return value
  }

  private mutating func take(_ count: Int, _ field: String) throws -> [UInt8] {
    guard count <= bytes.count - offset else {
      throw TransparencyLogError.malformed("\(field): needs \(count) bytes, \(bytes.count - offset) left")
    }
    defer { offset += count }
    return Array(bytes[offset..<offset + count])
  }
}
