import DaemonSupport
import FuzzSupport
import Foundation
import HiTechSchema
import ProvinceNode

/// The clerks' spreadsheet reader (`hitech report from-sheet`): CSV text (UTF-8, as the command
/// reads it) into report submissions, every row checked with the rule set.
///
/// Properties: nothing traps; each built row names its own row number; a row without errors
/// carries a sealed submission (content hash of its report) that survives a binary round trip.
@main
enum SheetHarness {
  static let maxRows = 64

  static func main() {
    FuzzMain.run("fuzz-sheet") { input in
      guard let text = String(data: Data(input), encoding: .utf8) else { return }
      let sheet = ReportSheet(csv: text)
      for problem in sheet.headerProblems {
        fuzzRequire(problem.row == 1, "a header problem on row \(problem.row)")
      }
      for index in 0..<min(sheet.rowCount, maxRows) {
        for year in [nil, 2025] {
          let row = sheet.row(index, defaultYear: year)
          fuzzRequire(row.number == index + 2, "row \(index) is numbered \(row.number)")
          for problem in row.problems {
            fuzzRequire(problem.row == row.number, "row \(row.number) has a problem on row \(problem.row)")
          }
          guard !row.hasErrors, let submission = row.submission else { continue }
          fuzzRequire((try? submission.computedContentHash()) == Array(submission.contentSha256), "row \(row.number): the content hash is not the report's")
          if let bytes: [UInt8] = try? submission.serializedBytes() {
            fuzzRequire((try? Ndrc_Hitech_V1_Submission(serializedBytes: bytes)) == submission, "row \(row.number): the submission does not decode to itself")
          }
        }
      }
    }
  }
}
