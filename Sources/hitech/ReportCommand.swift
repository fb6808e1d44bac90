import ArgumentParser
import DaemonSupport
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import HiTechDomain
import HiTechSchema
import ProvinceNode
import SwiftProtobuf

struct ReportCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "report",
    abstract: "Report message files: make them from a spreadsheet, check them, show them.",
    subcommands: [FromCSV.self, Check.self, Show.self]
  )

  struct FromCSV: ParsableCommand {
    static let configuration = CommandConfiguration(
      commandName: "from-csv",
      abstract: "Make one report message file per row of a CSV export, checking every row.",
      discussion: """
        Columns: base_id, report_year, amounts with their unit in the header such as
        "total_output_value (万元)", counts, compiled_by, contact, remarks (see README). Every
        problem is printed as "row R, column C: error|warning RULE: message". Rows with errors
        produce no file; exit status 1 when any row has an error.
        """
    )

    @Argument(help: "The CSV file (UTF-8).") var file: String
    @Option(help: "The folder to write the .json message files to (e.g. the node's outbox).") var output: String
    @Option(help: "The report year, for sheets without a report_year column.") var year: Int?

    func run() throws {
      guard let data = FileManager.default.contents(atPath: file), let text = String(data: data, encoding: .utf8) else {
        throw ValidationError("\(file): cannot read it as UTF-8 text; save the spreadsheet as CSV UTF-8")
      }
      let sheet = ReportSheet(csv: text)
      for problem in sheet.headerProblems { print("\(file): \(problem)") }
      guard sheet.headerProblems.allSatisfy({ $0.severity != .error }) else { throw ExitCode(1) }
      try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
      let progress = Progress(total: sheet.rowCount)
      var written = 0
      var failed = 0
      for index in 0..<sheet.rowCount {
        let row = sheet.row(index, defaultYear: year)
        for problem in row.problems { progress.print("\(file): \(problem)") }
        if row.hasErrors {
          failed += 1
        } else if let submission = row.submission {
          var options = JSONEncodingOptions()
          options.preserveProtoFieldNames = false
          let name = "\(submission.baseID)-\(submission.reportYear)-r\(submission.revision).json"
          let json = try submission.jsonUTF8Data(options: options)
          // Write then rename: a watching node never sees half a file.
          let target = (output as NSString).appendingPathComponent(name)
          let temporary = (output as NSString).appendingPathComponent(".\(name).tmp")
          try json.write(to: URL(fileURLWithPath: temporary))
          guard rename(temporary, target) == 0 else {
            throw ValidationError("\(target): cannot write it (\(String(cString: strerror(errno))))")
          }
          written += 1
        }
        progress.advance()
      }
      progress.finish()
      print("\(written) report files written to \(output); \(failed) rows with errors")
      if failed > 0 { throw ExitCode(1) }
    }
  }

  struct Check: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Check a report message file (.json or .pb) with the shared rules, offline."
    )
    @Argument(help: "The message file.") var file: String

    func run() throws {
      let submission = try Submit.read(file, completing: false)
      let outcome = ReportValidator.validate(
        AnnualReport(submission.report), context: ValidationContext(reportYear: Int(submission.reportYear)))
      for finding in outcome.findings { print("\(file): \(finding)") }
      print(outcome.isAccepted ? "\(file): no errors" : "\(file): \(outcome.errors.count) error(s)")
      if !outcome.isAccepted { throw ExitCode(1) }
    }
  }

  struct Show: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print a report message file (.json or .pb) as readable JSON.")
    @Argument(help: "The message file.") var file: String

    func run() throws {
      let submission = try Submit.read(file, completing: false)
      print(try submission.jsonString())
    }
  }
}

/// A progress bar on standard error when it is a terminal; nothing otherwise.
final class Progress {
  let total: Int
  private var done = 0
  private let isTerminal = isatty(STDERR_FILENO) != 0

  init(total: Int) { self.total = total }

  func advance() {
    done += 1
    guard isTerminal, total >= 100, done % max(1, total / 100) == 0 || done == total else { return }
    let width = 30
    let filled = width * done / max(1, total)
    FileHandle.standardError.write(Data("\r[\(String(repeating: "#", count: filled))\(String(repeating: " ", count: width - filled))] \(done)/\(total) rows".utf8))
  }

  /// Prints a line without breaking the bar.
  func print(_ line: String) {
    if isTerminal && total >= 100 { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
    Swift.print(line)
  }

  func finish() {
    if isTerminal && total >= 100 { FileHandle.standardError.write(Data("\n".utf8)) }
  }
}
