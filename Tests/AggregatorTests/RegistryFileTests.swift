import Aggregator
import AggregatorStore
import Foundation
import HiTechTestSupport
import Testing

@Suite("Registry files")
struct RegistryFileTests {
  func write(_ text: String, _ suffix: String) throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("registry-\(UUID().uuidString).\(suffix)").path
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
  }

  @Test("the sample registry and the schema's reporter list read completely")
  func samples() throws {
    let root = AggregatorProcess.repositoryRoot
    let bases = try RegistryFile.readBases(path: root.appendingPathComponent("deploy/sample/registry.json").path)
    #expect(bases.count == 13)
    #expect(Set(bases.flatMap(\.fields)) == Set(RegistryFile.fieldNames))
    #expect(bases.allSatisfy { $0.baseId.hasPrefix("SAMPLE-") })
    let reporters = try RegistryFile.readReporters(path: root.appendingPathComponent("proto-schemas/data/reporters.txtpb").path)
    #expect(reporters.count == 47)
  }

  @Test("a CSV with quoted fields, a BOM and CRLF reads; every bad cell is named by line and column")
  func csv() throws {
    let good = try write(
      "\u{FEFF}base_id,name_zh,reporter_code,kind,fields,level,first_report_year,name_en\r\n"
        + "B-1,\"样例,基地\",110000,comprehensive,information;ocean,national,2010,\"The \"\"B\"\" base\"\r\n", "csv")
    let bases = try RegistryFile.readBases(path: good)
    #expect(bases.count == 1)
    #expect(bases[0].nameZh == "样例,基地")
    #expect(bases[0].nameEn == "The \"B\" base")
    #expect(bases[0].fields == ["information", "ocean"])

    let bad = try write(
      "base_id,name_zh,reporter_code,kind,fields,level,first_report_year\n"
        + "B-1,样例,110000,specialized,information;ocean,national,2010\n"
        + "B-2,样例,110000,special,informatics,national,20x0\n", "csv")
    do {
      _ = try RegistryFile.readBases(path: bad)
      Issue.record("a bad CSV was accepted")
    } catch let list as RegistryFile.ProblemList {
      let text = list.description
      #expect(text.contains("line 3, column kind"))
      #expect(text.contains("line 3, column fields"))
      #expect(text.contains("line 3, column first_report_year"))
      #expect(text.contains("R-BASE-KIND-FIELDS"))
    }
    let missing = try write("base_id,name_zh\nB-1,x\n", "csv")
    #expect(throws: RegistryFile.Problem.self) { try RegistryFile.readBases(path: missing) }
  }

  @Test("a reporter code is six ASCII digits, not six digits of another script", arguments: ["١١٠٠٠٠", "１１００００", "五五五五五五"])
  func reporterCodeDigits(code: String) throws {
    let csv = try write(
      "base_id,name_zh,reporter_code,kind,fields,level,first_report_year\nB-1,样例,\(code),specialized,ocean,national,2010\n", "csv")
    #expect(throws: RegistryFile.ProblemList.self) { try RegistryFile.readBases(path: csv) }
    let json = try write(#"{"reporters":[{"code":"\#(code)","nameZh":"x","kind":"REPORTER_KIND_PROVINCIAL"}]}"#, "json")
    #expect(throws: RegistryFile.ProblemList.self) { try RegistryFile.readReporters(path: json) }
  }
}
