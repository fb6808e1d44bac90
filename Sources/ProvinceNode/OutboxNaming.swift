/// The atomic-drop convention of the outbox, and the names the spool gives claimed files.
///
/// A producer (a clerk's tool, a city's data feed, `hitech` itself) must never let the node see
/// a half-written file. It writes the file under a name the node ignores — a dot-file
/// (`.x.json`), or any name not ending in `.json` or `.pb` (`x.json.tmp`, `x.json.part`) — and
/// when the file is complete (ideally after an fsync) renames it, in the same directory, to
/// its final name `x.json` (proto3 JSON) or `x.pb` (binary protobuf). A rename is atomic: the
/// node sees the whole file or nothing. Only names ending in `.json` or `.pb` that do not
/// start with "." are picked up.
public enum OutboxNaming {
  /// Whether the spool picks up a file of this name from the outbox.
  public static func isEligible(_ name: String) -> Bool {
    !name.hasPrefix(".") && !name.contains("/") && (name.hasSuffix(".json") || name.hasSuffix(".pb"))
  }

  /// The number of digits of the arrival sequence number that prefixes a claimed file's name.
  static let sequenceDigits = 10

  /// `0000000042_x.json`: the name of a file in claimed/, sent/, rejected/ and quarantine/.
  /// The prefix keeps names unique when a producer drops the same name twice, and records the
  /// arrival order in the file system itself.
  static func claimedName(sequence: UInt64, original: String) -> String {
    let digits = String(sequence)
    return String(repeating: "0", count: max(0, sequenceDigits - digits.count)) + digits + "_" + original
  }

  /// The sequence number and original name of a claimed name, or nil when it has no prefix.
  static func parse(claimedName name: String) -> (sequence: UInt64, original: String)? {
    let digits = name.prefix(sequenceDigits)
    guard digits.count == sequenceDigits, digits.allSatisfy(\.isASCII), let sequence = UInt64(digits),
      name.dropFirst(sequenceDigits).first == "_"
    else { return nil }
    return (sequence, String(name.dropFirst(sequenceDigits + 1)))
  }

  /// Beside a file in sent/: the aggregator's receipt (proto3 JSON).
  static let receiptSuffix = ".receipt.json"
  /// Beside a file in rejected/: the readable report of why.
  static let rejectedSuffix = ".rejected.txt"
  /// Beside a file in quarantine/: why it could not be read.
  static let reasonSuffix = ".reason.txt"

  /// Whether a name in one of the spool's folders is a message file (not a sidecar, not a
  /// temporary file of the spool's own atomic writes).
  static func isMessageFile(_ name: String) -> Bool {
    !name.hasPrefix(".") && !name.hasSuffix(receiptSuffix) && !name.hasSuffix(rejectedSuffix)
      && !name.hasSuffix(reasonSuffix)
  }
}
