import GRPCCore

/// Checks the request metadata of an OPEN before it reaches GRPCCore, which trusts it.
///
/// Of all request metadata GRPCCore's server parses only `grpc-timeout`
/// (`Metadata.timeout` → `Timeout(decoding:)`), and that parser traps on a negative amount
/// (`-1S` stops the process with a precondition failure), takes a leading `+`, and silently
/// ignores a value of 8 digits (it accepts at most 8 characters, unit included). So the
/// transport checks the header against gRPC's grammar itself:
///
///     grpc-timeout = 1*8DIGIT unit        ; DIGIT is ASCII 0-9
///     unit         = "H" / "M" / "S" / "m" / "u" / "n"
///
/// at most once per call. A value GRPCCore cannot read (8 digits) is rewritten to the same
/// deadline, rounded up, in a coarser unit.
@available(gRPCSwift 2.0, *)
package enum RequestMetadataCheck {
  static let timeoutKey = "grpc-timeout"
  static let timeoutRule = "1 to 8 ASCII digits then one unit of H, M, S, m, u, n"

  /// The deadline the metadata asks for, or why the call must be refused
  /// (with STATUS INVALID_ARGUMENT). May rewrite `metadata`'s `grpc-timeout` value.
  package static func check(_ metadata: inout Metadata) -> Result<Duration?, Problem> {
    var found: String?
    var count = 0
    for value in metadata[timeoutKey] {
      count += 1
      switch value {
      case .string(let text): found = text
      case .binary: return .failure(Problem("grpc-timeout must be text: \(timeoutRule)"))
      }
    }
    guard let text = found else { return .success(nil) }
    guard count == 1 else {
      return .failure(Problem("grpc-timeout appears \(count) times; a call carries it at most once"))
    }
    guard let (amount, unit) = parseTimeout(text) else {
      return .failure(Problem("grpc-timeout \"\(text.prefix(32))\" is malformed: \(timeoutRule)"))
    }
    if text.utf8.count > 8 {
      // GRPCCore reads at most 8 characters: say the same deadline in fewer digits.
      metadata.replaceOrAddString(coarser(amount, unit), forKey: timeoutKey)
    }
    return .success(duration(amount, unit))
  }

  package struct Problem: Error {
    let message: String
    init(_ message: String) { self.message = message }
  }

  /// `1*8DIGIT unit`, or nil.
  static func parseTimeout(_ text: String) -> (amount: Int64, unit: UInt8)? {
    let utf8 = text.utf8
    guard (2...9).contains(utf8.count), let unit = utf8.last, "HMSmun".utf8.contains(unit) else { return nil }
    var amount: Int64 = 0
    for byte in utf8.dropLast() {
      guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
      amount = amount * 10 + Int64(byte - UInt8(ascii: "0"))
    }
    return (amount, unit)
  }

  static func duration(_ amount: Int64, _ unit: UInt8) -> Duration {
    switch unit {
    case UInt8(ascii: "H"): .seconds(amount * 3600)
    case UInt8(ascii: "M"): .seconds(amount * 60)
    case UInt8(ascii: "S"): .seconds(amount)
    case UInt8(ascii: "m"): .milliseconds(amount)
    case UInt8(ascii: "u"): .microseconds(amount)
    default: .nanoseconds(amount)
    }
  }

  /// The same timeout in the next coarser unit, rounded up, in at most 7 digits.
  static func coarser(_ amount: Int64, _ unit: UInt8) -> String {
    func up(_ value: Int64, _ divisor: Int64) -> Int64 { (value + divisor - 1) / divisor }
    switch unit {
    case UInt8(ascii: "n"): return "\(up(amount, 1000))u"
    case UInt8(ascii: "u"): return "\(up(amount, 1000))m"
    case UInt8(ascii: "m"): return "\(up(amount, 1000))S"
    case UInt8(ascii: "S"): return "\(up(amount, 60))M"
    case UInt8(ascii: "M"): return "\(up(amount, 60))H"
    default: return "9999999H"  // over a thousand years: no deadline in practice
    }
  }
}
