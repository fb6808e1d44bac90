import Foundation
import HiTechDomain
import Testing

/// The rule tables of `proto-schemas/README.md` §"Validation rules" are the operators' list of
/// every rule code: they must name exactly the codes the code has, and every code the server's
/// sources spell must be among them.
@Suite("The README's rule tables")
struct RuleTableTests {
  static let root = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

  /// Each table row that starts with a rule code: code → the row's cells.
  static func readmeRows() throws -> [String: [String]] {
    let text = try String(contentsOf: root.appendingPathComponent("proto-schemas/README.md"), encoding: .utf8)
    var rows: [String: [String]] = [:]
    for line in text.split(separator: "\n") where line.hasPrefix("| `R-") {
      let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
      let code = cells[0].trimmingCharacters(in: CharacterSet(charactersIn: "`"))
      #expect(rows[code] == nil, "\(code) has two rows")
      rows[code] = Array(cells)
    }
    return rows
  }

  @Test("the tables list exactly the validation rules and the envelope rules")
  func tablesMatchTheCode() throws {
    let rows = try Self.readmeRows()
    let codes = Set(ValidationRule.all.map(\.code) + EnvelopeRule.all.map(\.code))
    #expect(Set(rows.keys) == codes, "only in the README: \(Set(rows.keys).subtracting(codes).sorted()); only in the code: \(codes.subtracting(rows.keys).sorted())")
    for rule in ValidationRule.all {
      #expect(rows[rule.code]?[1] == rule.severity.rawValue, "\(rule.code): severity")
    }
    for rule in EnvelopeRule.all {
      #expect(rows[rule.code]?[1] == rule.status, "\(rule.code): status")
    }
  }

  /// The rule codes of applications (`R-APP-…`), which proto-schemas/APPLICATIONS.md lists.
  static func applicationCodes() throws -> Set<String> {
    let text = try String(contentsOf: root.appendingPathComponent("proto-schemas/APPLICATIONS.md"), encoding: .utf8)
    return Set(text.matches(of: try Regex(#"`(R-APP-[A-Z0-9-]+)`"#)).map { String($0.output[1].substring!) })
  }

  @Test("every rule code the aggregator's sources spell is in the tables")
  func sourcesUseListedCodes() throws {
    let listed = Set(try Self.readmeRows().keys).union(try Self.applicationCodes())
    var spelled: [String: String] = [:]
    let pattern = try Regex(#""(R-[A-Z0-9]+(?:-[A-Z0-9]+)*)"#)
    for folder in [
      "Sources/Aggregator", "Sources/AggregatorStore", "Sources/AggregatorStorePostgres", "Sources/HiTechDomain",
    ] {
      let directory = Self.root.appendingPathComponent(folder)
      let files = FileManager.default.enumerator(at: directory, includingPropertiesForKeys: nil)?
        .compactMap { $0 as? URL }.filter { $0.pathExtension == "swift" } ?? []
      #expect(!files.isEmpty, "no sources under \(folder)")
      for file in files {
        let text = try String(contentsOf: file, encoding: .utf8)
        for match in text.matches(of: pattern) {
          spelled[String(match.output[1].substring!)] = file.lastPathComponent
        }
      }
    }
    #expect(spelled.keys.contains("R-SUBMISSION-ID-REUSED"))
    for (code, file) in spelled.sorted(by: { $0.key < $1.key }) {
      #expect(listed.contains(code), "\(code) (in \(file)) is not in proto-schemas/README.md (nor, for R-APP-…, in APPLICATIONS.md)")
    }
  }
}
