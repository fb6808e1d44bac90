import Foundation
import HiTechDomain
import HiTechSchema
import SwiftProtobuf
import Testing

@Suite("The reporters of the source document")
struct ReporterCatalogueTests {
  @Test("47 addressees: 31 provincial, 5 separately planned cities, 10 sub-provincial capitals, the XPCC")
  func counts() {
    let all = ReporterCatalogue.all
    #expect(all.count == 47)
    #expect(all.filter { $0.kind == .provincial }.count == 31)
    #expect(all.filter { $0.kind == .separatelyPlannedCity }.map(\.code).sorted() == ["210200", "330200", "350200", "370200", "440300"])
    #expect(all.filter { $0.kind == .subProvincialCapital }.count == 10)
    #expect(ReporterCatalogue.reporter(code: "660000")?.kind == .xpcc)
    #expect(ReporterCatalogue.reporter(code: "660000")?.parentCode == "650000")
    #expect(ReporterCatalogue.reporter(code: "999999") == nil)
    #expect(all.allSatisfy { $0.code.count == 6 && $0.code.allSatisfy(\.isASCII) && $0.code.allSatisfy(\.isNumber) })
    #expect(all.filter { $0.kind != .provincial }.allSatisfy { ReporterCatalogue.reporter(code: $0.parentCode ?? "")?.kind == .provincial })
    #expect(Set(all.map(\.code)).count == 47)
  }

  @Test("the catalogue agrees with proto-schemas/data/reporters.txtpb")
  func agreesWithSchemaData() throws {
    let url = URL(fileURLWithPath: #filePath)
      .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
      .appendingPathComponent("proto-schemas/data/reporters.txtpb")
    let registry = try Ndrc_Hitech_V1_Registry(textFormatString: String(contentsOf: url, encoding: .utf8))
    #expect(registry.reporters.count == ReporterCatalogue.all.count)
    for reporter in registry.reporters {
      let known = try #require(ReporterCatalogue.reporter(code: reporter.code), "\(reporter.code) missing")
      #expect(known.nameZh == reporter.nameZh)
      #expect(known.nameEn == reporter.nameEn)
      #expect((known.parentCode ?? "") == reporter.parentCode)
      #expect(Self.kind(reporter.kind) == known.kind, "\(reporter.code) kind")
    }
    #expect(Set(registry.reporters.map(\.code)) == Set(ReporterCatalogue.all.map(\.code)))
  }

  static func kind(_ kind: Ndrc_Hitech_V1_ReporterKind) -> ReporterKind? {
    switch kind {
    case .provincial: .provincial
    case .separatelyPlannedCity: .separatelyPlannedCity
    case .subProvincialCapital: .subProvincialCapital
    case .xpcc: .xpcc
    case .unspecified, .UNRECOGNIZED: nil
    }
  }
}
