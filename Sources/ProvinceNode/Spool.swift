import Foundation
import HiTechSchema
import Synchronization
public import Logging

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The province node's durable outbox spool: it takes report message files from `outbox/`,
/// keeps each one until the aggregator has acknowledged it, and never loses or duplicates one.
///
/// ## On disk
///
/// ```
/// SPOOL/
///   outbox/        producers drop files here (atomic-drop convention: see OutboxNaming)
///   claimed/       0000000042_x.json — taken over by the node, waiting to be sent
///   sent/          0000000042_x.json + 0000000042_x.json.receipt.json (the receipt)
///   rejected/      0000000042_x.json + 0000000042_x.json.rejected.txt (every finding, or the
///                  gRPC status and message of the aggregator's refusal)
///   quarantine/    0000000042_x.json + 0000000042_x.json.reason.txt (unreadable, truncated,
///                  garbage, empty, not a regular file)
///   spool.journal  append-only JSON lines, fsync'd (see JournalRecord)
/// ```
///
/// All folders must be on one file system (renames between them are atomic; a symlinked
/// outbox/ on another file system makes every claim fail with EXDEV, loudly).
///
/// The 10-digit prefix is the arrival sequence number: monotonically increasing, never reused
/// (its high-water mark is the maximum of the journal's and of every name in every folder).
///
/// ## Claiming
///
/// A claim renames `outbox/x.json` to `claimed/<seq>_x.json` (same file system: atomic),
/// fsyncs the outbox and claimed directories and the file itself, then reads and judges it:
/// unreadable → quarantine/ with the reason; refused by the envelope checks or the shared rule
/// set (``HiTechDomain/ReportValidator``, knowing only the report year) → rejected/ with every
/// finding; otherwise a `claim` record with the submission id (the file's, or a new lowercase
/// UUID), the sequence number, the content hash and the claim time is appended to the journal
/// and fsync'd. Only then can ``next()`` hand the message out: the id is durable before any
/// send, and the same id is used for every retry and after every restart.
///
/// ## Never blocked by a file
///
/// Only regular files are read. Anything else with an eligible name — a FIFO, a socket, a
/// device, a directory, a symbolic link (wherever it points, in or out of the spool) — is
/// renamed like any file (a rename neither opens nor follows it) and quarantined with its true
/// kind as the reason ("not a regular file: FIFO"), at claim, at recovery and when a claimed
/// file is replaced by hand. Every read checks with `lstat`, opens with
/// `O_NONBLOCK | O_NOFOLLOW` and checks again with `fstat` before reading, and fsyncs skip what
/// is not a regular file: no `open` can wait for a FIFO's writer.
///
/// ## Crash recovery
///
/// Every step is a rename (atomic) or an fsync'd append, and every later state can be
/// recognised from the folders, so a `kill -9` anywhere leaves each file in exactly one folder
/// and ``recover()`` (run by `init`) finishes or undoes the step:
///
/// - a file in claimed/ with no open journal entry (killed after the rename, before the
///   append) is judged again and gets its entry (its sequence number from its name);
/// - an open entry whose file is in sent/ or rejected/ (killed after the rename, before the
///   closing record) is closed; sidecars are written *before* the rename, so a file in sent/
///   always has its receipt beside it;
/// - an open entry whose file is still in outbox/ under its original name is claimed again;
/// - an open entry whose file has vanished (removed by hand) is closed as lost, and logged;
/// - a torn last journal line (killed inside a write) is cut off; it was never acknowledged;
/// - leftover temporary files of the spool's own atomic writes are removed.
///
/// Recovery then rewrites the journal with only the open entries (compaction).
///
/// ## Threads
///
/// All methods are synchronous and serialised by one lock; they do blocking file I/O (fsync),
/// so call them from a dedicated thread or accept short blocking of the caller. `Sendable`.
public final class Spool: @unchecked Sendable {
  public let directory: String
  public var outboxPath: String { directory + "/outbox" }
  public var claimedPath: String { directory + "/claimed" }
  public var sentPath: String { directory + "/sent" }
  public var rejectedPath: String { directory + "/rejected" }
  public var quarantinePath: String { directory + "/quarantine" }
  public var journalPath: String { directory + "/spool.journal" }

  struct Entry: Sendable {
    var sequence: UInt64
    var id: String
    var file: String
    var source: String?
    var sha256: String
    var claimedAtMillis: Int64
    var attempts: Int = 0
    var lastError: String?

    var record: JournalRecord {
      JournalRecord(
        op: .claim, seq: sequence, id: id, file: file, source: source, sha256: sha256, at: claimedAtMillis,
        attempts: attempts == 0 ? nil : attempts, error: lastError)
    }
  }

  private let lock = NSLock()
  /// When the last batch of a claim ended (read without the spool's lock: see
  /// ``lastBatchEndedAt``).
  private let batchEnded = Mutex<Date?>(nil)
  private let logger: Logger
  private var journal: Journal?
  private var entries: [String: Entry] = [:]
  /// Ids of open entries in sequence order (closed ones are skipped lazily).
  private var order: [String] = []
  private var head = 0
  private var leased: Set<String> = []
  /// Open entries ``next()`` could not prepare (the file could not be read, or moving it out
  /// failed): skipped, so that the files behind them are still sent, until ``recover()``.
  private var deferred: Set<String> = []
  private var nextSequence: UInt64 = 1
  private var sentCount = 0
  private var rejectedCount = 0
  private var quarantinedCount = 0
  private var lastReceipt: String?
  private var lastError: String?

  /// Opens (creating) the spool at `directory` and runs ``recover()``.
  public init(directory: String, logger: Logger) throws {
    self.directory = directory
    self.logger = logger
    for path in [directory, outboxPath, claimedPath, sentPath, rejectedPath, quarantinePath] {
      try FileSystem.makeDirectory(path)
    }
    try recover()
  }

  // MARK: - Claiming

  /// Claims every eligible file in outbox/, oldest modification time first (then by name):
  /// the full scan at start, and after the watcher reports an overflow.
  @discardableResult
  public func claimPending() throws -> ClaimSummary {
    let names = try FileSystem.names(in: outboxPath).filter(OutboxNaming.isEligible)
    var stamped: [(name: String, seconds: Int, nanoseconds: Int)] = []
    stamped.reserveCapacity(names.count)
    for name in names {
      var info = stat()
      // lstat: a dangling symbolic link is claimed too (and quarantined), never skipped.
      guard lstat(outboxPath + "/" + name, &info) == 0 else { continue }
      stamped.append((name, Int(info.st_mtim.tv_sec), Int(info.st_mtim.tv_nsec)))
    }
    stamped.sort { ($0.seconds, $0.nanoseconds, $0.name) < ($1.seconds, $1.nanoseconds, $1.name) }
    return try claim(names: stamped.map(\.name))
  }

  /// Claims the named files of outbox/ in the given order (names that are not eligible, or no
  /// longer there, are skipped). Works in batches: one journal fsync per batch.
  @discardableResult
  public func claim(names: [String]) throws -> ClaimSummary {
    var summary = ClaimSummary()
    let eligible = names.filter(OutboxNaming.isEligible)
    var start = 0
    while start < eligible.count {
      let batch = eligible[start..<min(start + 256, eligible.count)]
      start += batch.count
      let part = try lock.withLock { try claimLocked(Array(batch)) }
      summary.claimed += part.claimed
      summary.rejected += part.rejected
      summary.quarantined += part.quarantined
      batchEnded.withLock { $0 = Date() }
    }
    return summary
  }

  /// When the last batch of a claim ended, nil before the first. Read without the spool's lock
  /// (it never waits for a long claim): the node's watchdog takes a claim moving on, batch by
  /// batch, as progress.
  public var lastBatchEndedAt: Date? { batchEnded.withLock { $0 } }

  private func claimLocked(_ names: [String]) throws -> ClaimSummary {
    var moved: [Candidate] = []
    for name in names {
      let file = OutboxNaming.claimedName(sequence: nextSequence, original: name)
      guard try durableRename(outboxPath + "/" + name, claimedPath + "/" + file) else { continue }
      moved.append(Candidate(sequence: nextSequence, file: file, source: name))
      nextSequence += 1
    }
    guard !moved.isEmpty else { return ClaimSummary() }
    try durableFsync(outboxPath)
    for candidate in moved { try durableFsyncFile(claimedPath + "/" + candidate.file) }
    try durableFsync(claimedPath)
    return try admitLocked(moved)
  }

  struct Candidate {
    var sequence: UInt64
    var file: String
    var source: String?
    /// The entry this file had before (recovery): its id is kept when the content is the same.
    var previous: Entry?
  }

  /// Judges files already in claimed/: accepted ones get a journal entry (one fsync'd append
  /// for the batch), the others move to rejected/ or quarantine/ with their sidecar.
  private func admitLocked(_ candidates: [Candidate]) throws -> ClaimSummary {
    var summary = ClaimSummary()
    var records: [JournalRecord] = []
    var accepted: [Entry] = []
    var touched: Set<String> = []
    let now = Int64(Date().timeIntervalSince1970 * 1000)
    for candidate in candidates {
      let displayName = candidate.source ?? candidate.file
      let verdict: Admission
      do {
        verdict = Admission.judge(bytes: try read(claimedPath + "/" + candidate.file, .readToJudge), name: candidate.file)
      } catch let error as SpoolError where error.code == .notRegularFile {
        verdict = .quarantine(reason: error.message)
      } catch {
        verdict = .quarantine(reason: "cannot read the file: \(error)")
      }
      switch verdict {
      case .quarantine(let reason):
        try moveOut(candidate.file, to: quarantinePath, suffix: OutboxNaming.reasonSuffix, text: "\(displayName): \(reason)\n")
        touched.insert(quarantinePath)
        quarantinedCount += 1
        summary.quarantined.append(displayName)
        logger.warning("outbox file quarantined", metadata: ["file.name": "\(displayName)", "file.reason": "\(reason)"])
      case .reject(let report):
        try moveOut(candidate.file, to: rejectedPath, suffix: OutboxNaming.rejectedSuffix, text: "\(displayName)\n" + report)
        touched.insert(rejectedPath)
        rejectedCount += 1
        summary.rejected.append(displayName)
        logger.info("outbox file refused by local validation", metadata: ["file.name": "\(displayName)"])
      case .accept(let submission):
        let hash = (try? submission.computedContentHash())?.hexString ?? ""
        let id: String
        if !submission.submissionID.isEmpty {
          id = submission.submissionID
        } else if let previous = candidate.previous, previous.sha256 == hash {
          id = previous.id
        } else {
          id = UUID().uuidString.lowercased()
        }
        if let other = entries[id] ?? accepted.first(where: { $0.id == id }), other.file != candidate.file {
          let report =
            "Refused by the province node: submission_id \(id) is already waiting to be sent (\(other.file)); "
            + "give each report file its own submission_id, or leave it empty.\n"
          try moveOut(candidate.file, to: rejectedPath, suffix: OutboxNaming.rejectedSuffix, text: "\(displayName)\n" + report)
          touched.insert(rejectedPath)
          rejectedCount += 1
          summary.rejected.append(displayName)
          continue
        }
        let entry = Entry(
          sequence: candidate.sequence, id: id, file: candidate.file, source: candidate.source, sha256: hash,
          claimedAtMillis: candidate.previous?.claimedAtMillis ?? now)
        accepted.append(entry)
        records.append(entry.record)
        summary.claimed.append(.init(name: displayName, id: id))
      }
    }
    try journalAppend(records)
    for directory in touched { try durableFsync(directory) }
    if !touched.isEmpty { try durableFsync(claimedPath) }
    for entry in accepted {
      entries[entry.id] = entry
      if let last = order.last, let lastEntry = entries[last], lastEntry.sequence > entry.sequence {
        order.append(entry.id)
        order[head...].sort { (entries[$0]?.sequence ?? 0) < (entries[$1]?.sequence ?? 0) }
      } else {
        order.append(entry.id)
      }
    }
    return summary
  }

  /// Writes the sidecar (atomically), then renames the file from claimed/ beside it.
  private func moveOut(_ file: String, to folder: String, suffix: String, text: String) throws {
    try durableWrite(Array(text.utf8), directory: folder, name: file + suffix)
    try durableRename(claimedPath + "/" + file, folder + "/" + file)
  }

  // MARK: - The sender's API

  /// The next claimed message to send, in arrival order, skipping those already handed out and
  /// not yet marked; nil when there is none. The message stays "in flight" until
  /// ``markSent(id:receiptJSON:)``, ``markRejected(id:reason:)`` or
  /// ``recordAttempt(id:error:)`` (which puts it back, first in line).
  ///
  /// A message that cannot be prepared — its file cannot be read (EIO, EMFILE), or moving a
  /// file that is no longer sendable out of claimed/ fails — is skipped and logged, not thrown:
  /// the messages behind it are still handed out, and it is offered again after the next
  /// ``recover()`` (see ``deferredCount``). Nothing is sent that was not read whole.
  public func next() throws -> OutgoingMessage? {
    try lock.withLock {
      while head < order.count, entries[order[head]] == nil { head += 1 }
      if head > 4096 && head * 2 > order.count {
        order.removeFirst(head)
        head = 0
      }
      var index = head
      while index < order.count {
        let id = order[index]
        index += 1
        guard let entry = entries[id], !leased.contains(id), !deferred.contains(id) else { continue }
        do {
          if let message = try prepareLocked(entry) { return message }
        } catch let crash as SimulatedCrash {
          throw crash
        } catch {
          // EIO, EMFILE, a full disk: this message waits for the next recover(); the ones
          // behind it are still handed out.
          deferred.insert(id)
          lastError = "\(entry.file): \(error)"
          logger.error("cannot prepare a claimed message; it waits for the next recovery", metadata: [
            "report.id": "\(id)", "spool.file": "\(entry.file)", "error": "\(error)",
          ])
        }
      }
      return nil
    }
  }

  /// How many open messages ``next()`` skipped after an I/O error; they are offered again after
  /// ``recover()``. The sender runs a recovery (after a backoff) while this is not zero.
  var deferredCount: Int { lock.withLock { deferred.count } }

  /// Reads and checks one claimed message: the message to hand out (leased), or nil when it
  /// was closed instead (vanished, refused by the current rules, changed by hand).
  private func prepareLocked(_ entry: Entry) throws -> OutgoingMessage? {
    let id = entry.id
    let path = claimedPath + "/" + entry.file
    guard FileSystem.exists(path) else {
      try closeLostLocked(entry, reason: "\(entry.file) (submission id \(entry.id)) vanished from claimed/ before it was sent")
      return nil
    }
    let bytes: [UInt8]
    do {
      bytes = try read(path, .readToSend)
    } catch let error as SpoolError where error.code == .notRegularFile {
      // Replaced in claimed/ (by hand) with something that is not a regular file.
      try moveOut(entry.file, to: quarantinePath, suffix: OutboxNaming.reasonSuffix, text: "\(entry.file): \(error.message); not sent\n")
      try durableFsync(quarantinePath)
      try durableFsync(claimedPath)
      quarantinedCount += 1
      try closeLostLocked(entry, reason: "\(entry.file) was replaced by something that is not a regular file; quarantined")
      return nil
    }
    let verdict = Admission.judge(bytes: bytes, name: entry.file)
    if case .reject(let report) = verdict {
      // Accepted when claimed, refused now (a newer rule set after an upgrade): never sent.
      try moveOut(entry.file, to: rejectedPath, suffix: OutboxNaming.rejectedSuffix, text: "\(entry.source ?? entry.file)\n" + report)
      try durableFsync(rejectedPath)
      try durableFsync(claimedPath)
      try journalAppend([JournalRecord(op: .rejected, id: entry.id, error: "refused by the local checks")])
      entries[id] = nil
      rejectedCount += 1
      return nil
    }
    guard case .accept(let submission) = verdict,
      let outgoing = try? Admission.outgoing(submission, id: entry.id, claimedAtMillis: entry.claimedAtMillis),
      Array(outgoing.contentSha256).hexString == entry.sha256
    else {
      // Changed in claimed/ after it was claimed (by hand): never send what was not checked.
      try moveOut(entry.file, to: quarantinePath, suffix: OutboxNaming.reasonSuffix,
        text: "\(entry.file): changed in claimed/ after it was claimed (content no longer matches the journal); not sent\n")
      try durableFsync(quarantinePath)
      try durableFsync(claimedPath)
      quarantinedCount += 1
      try closeLostLocked(entry, reason: "\(entry.file) changed after it was claimed; quarantined")
      return nil
    }
    leased.insert(id)
    return OutgoingMessage(
      id: id, sequence: entry.sequence, fileName: entry.file, submission: outgoing,
      bytes: try outgoing.serializedBytes(), attempts: entry.attempts, lastError: entry.lastError)
  }

  private func closeLostLocked(_ entry: Entry, reason: String) throws {
    try journalAppend([JournalRecord(op: .lost, id: entry.id, error: reason)])
    entries[entry.id] = nil
    leased.remove(entry.id)
    lastError = reason
    logger.error("claimed message lost", metadata: ["report.id": "\(entry.id)", "file.reason": "\(reason)"])
  }

  /// The aggregator stored the message: writes the receipt beside it in sent/, moves the file
  /// there, and closes its journal entry.
  public func markSent(id: String, receiptJSON: String) throws {
    try markSent([(id: id, receiptJSON: receiptJSON)])
  }

  /// ``markSent(id:receiptJSON:)`` for several messages at once, with one fsync of each folder
  /// and one journal append for all (for a sender with several messages in flight). All ids
  /// are checked before anything moves.
  public func markSent(_ receipts: [(id: String, receiptJSON: String)]) throws {
    guard !receipts.isEmpty else { return }
    try lock.withLock {
      var seen: Set<String> = []
      for receipt in receipts {
        guard entries[receipt.id] != nil, seen.insert(receipt.id).inserted else {
          throw SpoolError(code: .unknownSubmission, message: "no claimed message has submission id \(receipt.id) (or it is named twice)")
        }
      }
      for receipt in receipts {
        let file = entries[receipt.id]!.file
        try durableWrite(Array(receipt.receiptJSON.utf8), directory: sentPath, name: file + OutboxNaming.receiptSuffix)
        guard try durableRename(claimedPath + "/" + file, sentPath + "/" + file) else {
          throw FileSystem.error("rename to sent/:", claimedPath + "/" + file, ENOENT)
        }
      }
      try durableFsync(sentPath)
      try durableFsync(claimedPath)
      try journalAppend(receipts.map { JournalRecord(op: .sent, id: $0.id, receipt: $0.receiptJSON) })
      for receipt in receipts {
        entries[receipt.id] = nil
        leased.remove(receipt.id)
      }
      sentCount += receipts.count
      lastReceipt = receipts.last!.receiptJSON
    }
  }

  /// The aggregator refused the message for good (not retryable): writes `reason` (the gRPC
  /// status and message, and the findings if any) beside it in rejected/, moves the file there,
  /// and closes its journal entry. It is never sent again.
  public func markRejected(id: String, reason: String) throws {
    try lock.withLock {
      guard let entry = entries[id] else {
        throw SpoolError(code: .unknownSubmission, message: "no claimed message has submission id \(id)")
      }
      let text = "\(entry.source ?? entry.file)\nsubmission_id: \(id)\nRefused by the aggregator; not sent again.\n\n\(reason)\n"
      try moveOut(entry.file, to: rejectedPath, suffix: OutboxNaming.rejectedSuffix, text: text)
      try durableFsync(rejectedPath)
      try durableFsync(claimedPath)
      try journalAppend([JournalRecord(op: .rejected, id: id, error: reason)])
      entries[id] = nil
      leased.remove(id)
      rejectedCount += 1
      lastError = reason
    }
  }

  /// A send failed and will be retried: records the attempt (count and error, durably, for the
  /// status) and puts the message back, first in line for ``next()``.
  public func recordAttempt(id: String, error: String) throws {
    try lock.withLock {
      guard entries[id] != nil else {
        throw SpoolError(code: .unknownSubmission, message: "no claimed message has submission id \(id)")
      }
      try journalAppend([
        JournalRecord(op: .attempt, id: id, at: Int64(Date().timeIntervalSince1970 * 1000), error: error)
      ])
      entries[id]!.attempts += 1
      entries[id]!.lastError = error
      leased.remove(id)
      lastError = error
    }
  }

  /// Counts per folder, in flight, last receipt, last error.
  public func status() throws -> SpoolStatus {
    let waiting = try FileSystem.names(in: outboxPath).filter(OutboxNaming.isEligible).count
    return lock.withLock {
      SpoolStatus(
        outbox: waiting, claimed: entries.count, inFlight: leased.count, sent: sentCount,
        rejected: rejectedCount, quarantined: quarantinedCount, lastReceipt: lastReceipt, lastError: lastError)
    }
  }

  // MARK: - Durable steps (and simulated crashes, for the tests)

  /// Tests only: how many more durable steps (rename, fsync, atomic write, journal append) may
  /// run before a simulated crash throws ``SimulatedCrash`` — the instance must then be
  /// abandoned, as a killed process would be. `nil`: never.
  var crashAfterSteps: Int? {
    get { lock.withLock { stepsLeft } }
    set { lock.withLock { stepsLeft = newValue } }
  }
  private var stepsLeft: Int?

  /// Tests only: fails chosen file system calls with an errno (see ``FaultInjector``).
  var faultInjector: FaultInjector? {
    get { lock.withLock { faults } }
    set { lock.withLock { faults = newValue } }
  }
  private var faults: FaultInjector?

  struct SimulatedCrash: Error {}

  private func step(_ operation: FileOperation, _ path: String) throws {
    if let left = stepsLeft {
      if left == 0 { throw SimulatedCrash() }
      stepsLeft = left - 1
    }
    try injectedFault(operation, path)
  }

  private func injectedFault(_ operation: FileOperation, _ path: String) throws {
    if let faults, let code = faults(operation, path) {
      throw FileSystem.error("\(operation) (injected fault)", path, code)
    }
  }

  private func read(_ path: String, _ operation: FileOperation) throws -> [UInt8] {
    try injectedFault(operation, path)
    return try FileSystem.read(path)
  }

  @discardableResult
  private func durableRename(_ from: String, _ to: String) throws -> Bool {
    try step(.rename, to)
    return try FileSystem.rename(from, to)
  }

  private func durableFsync(_ path: String) throws {
    try step(.fsync, path)
    try FileSystem.fsync(path)
  }

  private func durableFsyncFile(_ path: String) throws {
    try step(.fsync, path)
    try FileSystem.fsyncFile(path)
  }

  private func durableWrite(_ bytes: [UInt8], directory: String, name: String) throws {
    try step(.write, directory + "/" + name)
    try FileSystem.writeAtomically(bytes, directory: directory, name: name)
  }

  private func journalAppend(_ records: [JournalRecord]) throws {
    guard !records.isEmpty else { return }
    try step(.journal, journalPath)
    guard let journal else {
      throw SpoolError(code: .io, message: "\(journalPath) is not open (the last recovery failed); waiting for the next one")
    }
    try journal.append(records)
  }

  // MARK: - Recovery

  /// Reconciles the folders with the journal after a crash (run by `init`; safe to run again):
  /// see the type's documentation. Forgets what was in flight: every open message is offered
  /// again by ``next()``.
  public func recover() throws {
    try lock.withLock { try recoverLocked() }
  }

  private func recoverLocked() throws {
    journal = nil
    let (journal, records) = try Journal.open(path: journalPath)
    self.journal = journal

    // 1. Replay the journal.
    var open: [String: Entry] = [:]
    var closedByFile: [String: Entry] = [:]
    var high: UInt64 = 0
    var lastReceipt: String?
    var lastError: String?
    for record in records {
      switch record.op {
      case .claim:
        guard let id = record.id, let file = record.file, let sequence = record.seq else { continue }
        open[id] = Entry(
          sequence: sequence, id: id, file: file, source: record.source, sha256: record.sha256 ?? "",
          claimedAtMillis: record.at ?? 0, attempts: record.attempts ?? 0, lastError: record.error)
        high = max(high, sequence)
      case .attempt:
        guard let id = record.id else { continue }
        open[id]?.attempts += 1
        open[id]?.lastError = record.error
        lastError = record.error ?? lastError
      case .sent, .rejected, .lost:
        guard let id = record.id else { continue }
        if let entry = open.removeValue(forKey: id) { closedByFile[entry.file] = entry }
        if record.op == .sent { lastReceipt = record.receipt ?? lastReceipt } else { lastError = record.error ?? lastError }
      case .seq:
        high = max(high, record.seq ?? 0)
      case .status:
        lastReceipt = record.receipt
        lastError = record.error
      }
    }

    // 2. What the folders hold; leftover temporary files of our own atomic writes go.
    var folders: [String: Set<String>] = [:]
    for folder in [claimedPath, sentPath, rejectedPath, quarantinePath] {
      var messages: Set<String> = []
      for name in try FileSystem.names(in: folder) {
        if name.hasPrefix(".") && name.hasSuffix(".tmp") {
          unlink(folder + "/" + name)
          continue
        }
        guard OutboxNaming.isMessageFile(name) else { continue }
        messages.insert(name)
        if let parsed = OutboxNaming.parse(claimedName: name) { high = max(high, parsed.sequence) }
      }
      folders[folder] = messages
    }
    unlink(directory + "/.spool.journal.tmp")
    let inClaimed = folders[claimedPath]!
    sentCount = folders[sentPath]!.count
    rejectedCount = folders[rejectedPath]!.count
    quarantinedCount = folders[quarantinePath]!.count
    nextSequence = high + 1

    // 3. Open entries whose file is not in claimed/.
    var closing: [JournalRecord] = []
    var reclaimed: [Candidate] = []
    for entry in open.values.sorted(by: { $0.sequence < $1.sequence }) where !inClaimed.contains(entry.file) {
      open[entry.id] = nil
      if folders[sentPath]!.contains(entry.file) {
        let receipt = try? String(decoding: FileSystem.read(sentPath + "/" + entry.file + OutboxNaming.receiptSuffix), as: UTF8.self)
        closing.append(JournalRecord(op: .sent, id: entry.id, receipt: receipt))
        lastReceipt = receipt ?? lastReceipt
      } else if folders[rejectedPath]!.contains(entry.file) {
        closing.append(JournalRecord(op: .rejected, id: entry.id, error: "rejected (recovered)"))
      } else if folders[quarantinePath]!.contains(entry.file) {
        closing.append(JournalRecord(op: .lost, id: entry.id, error: "\(entry.file) is in quarantine/"))
      } else if let source = entry.source, try durableRename(outboxPath + "/" + source, claimedPath + "/" + entry.file) {
        try durableFsync(outboxPath)
        try durableFsyncFile(claimedPath + "/" + entry.file)
        try durableFsync(claimedPath)
        reclaimed.append(Candidate(sequence: entry.sequence, file: entry.file, source: source, previous: entry))
      } else {
        let reason = "\(entry.file) (submission id \(entry.id)) vanished from claimed/ before it was sent"
        closing.append(JournalRecord(op: .lost, id: entry.id, error: reason))
        lastError = reason
        logger.error("claimed message lost", metadata: ["report.id": "\(entry.id)", "file.name": "\(entry.file)"])
      }
    }
    try journalAppend(closing)

    // 4. Files in claimed/ without an open entry: killed between the rename and the append.
    let known = Set(open.values.map(\.file))
    for file in inClaimed.subtracting(known) {
      if let parsed = OutboxNaming.parse(claimedName: file) {
        reclaimed.append(Candidate(sequence: parsed.sequence, file: file, source: parsed.original, previous: closedByFile[file]))
      } else {
        // Put there by hand: give it a sequence number and the usual name.
        let renamed = OutboxNaming.claimedName(sequence: nextSequence, original: file)
        try durableRename(claimedPath + "/" + file, claimedPath + "/" + renamed)
        try durableFsync(claimedPath)
        reclaimed.append(Candidate(sequence: nextSequence, file: renamed, source: file))
        nextSequence += 1
      }
    }
    reclaimed.sort { $0.sequence < $1.sequence }

    entries = open
    order = open.values.sorted { $0.sequence < $1.sequence }.map(\.id)
    head = 0
    leased = []
    deferred = []
    self.lastReceipt = lastReceipt
    self.lastError = lastError
    if !reclaimed.isEmpty {
      let summary = try admitLocked(reclaimed)
      logger.info(
        "recovered claimed files",
        metadata: ["spool.claimed": "\(summary.claimed.count)", "spool.rejected": "\(summary.rejected.count)", "spool.quarantined": "\(summary.quarantined.count)"])
    }

    // 5. Compaction: only what is open, the sequence high-water mark and the status.
    var compacted = [
      JournalRecord(op: .seq, seq: nextSequence - 1),
      JournalRecord(op: .status, error: self.lastError, receipt: self.lastReceipt),
    ]
    compacted += order.compactMap { entries[$0]?.record }
    try step(.write, journalPath); try journal.rewrite(compacted, directory: directory)
  }
}
