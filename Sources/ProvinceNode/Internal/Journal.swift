import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One line of `spool.journal`: a JSON object on its own line.
///
/// - `claim`: a file entered claimed/ and was accepted for sending: `seq`, `id`, `file` (its
///   name in claimed/), `source` (its name in outbox/), `sha256` (hex), `at` (claim time, ms
///   since 1970), and after compaction `attempts` and `error`.
/// - `attempt`: a send failed and will be retried: `id`, `error`, `at`.
/// - `sent`, `rejected`, `lost`: the claim `id` is closed (its file is in sent/ or rejected/, or
///   vanished); `receipt` for `sent`, `error` for `rejected`/`lost`.
/// - `seq`: the highest sequence number ever given (written by compaction).
/// - `status`: the last receipt and last error (written by compaction).
struct JournalRecord: Codable, Sendable, Equatable {
  enum Op: String, Codable, Sendable {
    case claim, attempt, sent, rejected, lost, seq, status
  }

  var op: Op
  var seq: UInt64?
  var id: String?
  var file: String?
  var source: String?
  var sha256: String?
  var at: Int64?
  var attempts: Int?
  var error: String?
  var receipt: String?
}

/// The append-only JSON-lines journal of the spool. Every append is one `write` of whole lines
/// followed by `fsync`: a record is durable when `append` returns. A crash can leave at most a
/// torn last line, which ``open(path:)`` cuts off (it was never acknowledged to anyone).
final class Journal {
  let path: String
  private var fd: Int32
  private let encoder: JSONEncoder

  private init(path: String, fd: Int32) {
    self.path = path
    self.fd = fd
    encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
  }

  deinit { close(fd) }

  /// Opens (creating) the journal and reads every record; a torn last line is truncated away.
  static func open(path: String) throws -> (Journal, [JournalRecord]) {
    let bytes = FileSystem.exists(path) ? try FileSystem.read(path) : []
    var records: [JournalRecord] = []
    let decoder = JSONDecoder()
    var lineStart = 0
    var validEnd = 0
    var lineNumber = 0
    for index in bytes.indices where bytes[index] == UInt8(ascii: "\n") {
      lineNumber += 1
      let line = bytes[lineStart..<index]
      lineStart = index + 1
      if line.isEmpty {
        validEnd = lineStart
        continue
      }
      do {
        records.append(try decoder.decode(JournalRecord.self, from: Data(line)))
      } catch {
        throw SpoolError(code: .journalDamaged, message: "\(path):\(lineNumber): not a journal record; move the spool aside and restore it", cause: error)
      }
      validEnd = lineStart
    }
    let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0o644)
    guard fd >= 0 else { throw FileSystem.error("open", path) }
    if validEnd < bytes.count {
      // A torn tail (the process died inside a write): never acknowledged, cut it off.
      guard ftruncate(fd, off_t(validEnd)) == 0, fsync(fd) == 0 else {
        close(fd)
        throw FileSystem.error("truncate", path)
      }
    }
    return (Journal(path: path, fd: fd), records)
  }

  /// Appends records and fsyncs: durable on return.
  func append(_ records: [JournalRecord]) throws {
    guard !records.isEmpty else { return }
    var bytes: [UInt8] = []
    for record in records {
      bytes += try [UInt8](encoder.encode(record))
      bytes.append(UInt8(ascii: "\n"))
    }
    try FileSystem.writeAll(fd, bytes, path: path)
    guard fsync(fd) == 0 else { throw FileSystem.error("fsync", path) }
  }

  /// Replaces the journal with `records` atomically (write a temporary file, fsync, rename,
  /// fsync the directory), then appends to the new file.
  func rewrite(_ records: [JournalRecord], directory: String) throws {
    var bytes: [UInt8] = []
    for record in records {
      bytes += try [UInt8](encoder.encode(record))
      bytes.append(UInt8(ascii: "\n"))
    }
    let name = (path as NSString).lastPathComponent
    try FileSystem.writeAtomically(bytes, directory: directory, name: name)
    try FileSystem.fsync(directory)
    let newFD = Glibc.open(path, O_WRONLY | O_APPEND | O_CLOEXEC)
    guard newFD >= 0 else { throw FileSystem.error("open", path) }
    close(fd)
    fd = newFD
  }
}
