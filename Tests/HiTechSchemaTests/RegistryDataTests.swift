import Foundation
import HiTechSchema
import SwiftProtobuf
import Testing

/// proto-schemas/data/reporters.txtpb lists the 47 addressees of 发改高技[2009]3211号.
@Suite("Reporter registry data")
struct RegistryDataTests {
  static func load() throws -> Ndrc_Hitech_V1_Registry {
    let url = URL(fileURLWithPath: #filePath)
      .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
      .appendingPathComponent("proto-schemas/data/reporters.txtpb")
    let text = try String(contentsOf: url, encoding: .utf8)
    return try Ndrc_Hitech_V1_Registry(textFormatString: text)
  }

  @Test("the registry parses and has every addressee once")
  func counts() throws {
    let reporters = try Self.load().reporters
    #expect(reporters.count == 47)
    #expect(Set(reporters.map(\.code)).count == 47)
    let byKind = Dictionary(grouping: reporters, by: \.kind).mapValues(\.count)
    #expect(byKind[.provincial] == 31)
    #expect(byKind[.separatelyPlannedCity] == 5)
    #expect(byKind[.subProvincialCapital] == 10)
    #expect(byKind[.xpcc] == 1)
    #expect(reporters.allSatisfy { $0.active && !$0.nameZh.isEmpty && !$0.nameEn.isEmpty })
  }

  @Test("codes are 6-digit GB/T 2260 codes and parents exist")
  func codes() throws {
    let reporters = try Self.load().reporters
    let codes = Set(reporters.map(\.code))
    for r in reporters {
      #expect(r.code.count == 6 && r.code.allSatisfy(\.isASCII) && r.code.allSatisfy(\.isNumber), "\(r.code)")
      if r.kind == .provincial {
        #expect(r.parentCode.isEmpty && r.code.hasSuffix("0000"), "\(r.code)")
      } else {
        #expect(codes.contains(r.parentCode), "\(r.code) parent \(r.parentCode)")
        #expect(r.code.prefix(2) == r.parentCode.prefix(2) || r.kind == .xpcc, "\(r.code)")
      }
    }
  }

  @Test("the separately planned cities and the XPCC have the documented codes")
  func documentedCodes() throws {
    let reporters = try Self.load().reporters
    let planned = reporters.filter { $0.kind == .separatelyPlannedCity }
    #expect(Set(planned.map(\.code)) == ["210200", "370200", "330200", "350200", "440300"])
    let xpcc = try #require(reporters.first { $0.kind == .xpcc })
    #expect(xpcc.code == "660000")
    #expect(xpcc.nameZh == "新疆生产建设兵团")
    #expect(xpcc.parentCode == "650000")
  }
}
