import Assessment
import Foundation
import Testing

@Suite("The published list of recognised bases")
struct RecognitionPublicationTests {
  static func entry(_ id: String, date: String, name: String = "国家生物高技术产业基地（广州）") -> RecognitionPublication.Entry {
    RecognitionPublication.Entry(
      applicationId: id, kind: "new_national_base", baseId: "HTB-\(id)", nameZh: name, nameEn: "Base <\(id)>",
      reporterCode: "440000", cityCode: "440100", cityNameZh: "广州市", baseKind: "specialized", fields: ["biology"],
      level: "national", documentNumber: "发改高技[2026]88号", documentDate: date, issuer: "国家发展改革委", firstReportYear: 2026,
      scoreMilli: 83_600, weightingId: "default-2026.1")
  }

  @Test("the same decisions give the same bytes, in any order; texts are escaped and quoted")
  func deterministic() throws {
    let a = RecognitionPublication.List(year: 2026, recognitions: [Self.entry("APP-2", date: "2026-11-20"), Self.entry("APP-1", date: "2026-11-20", name: "名称\"引号\"")])
    let b = RecognitionPublication.List(year: 2026, recognitions: [Self.entry("APP-1", date: "2026-11-20", name: "名称\"引号\""), Self.entry("APP-2", date: "2026-11-20")])
    #expect(RecognitionPublication.render(a) == RecognitionPublication.render(b))
    #expect(a.recognitions.map(\.applicationId) == ["APP-1", "APP-2"])
    let files = RecognitionPublication.render(a)
    #expect(Set(files.keys) == ["recognitions-2026.json", "recognitions-2026.csv", "recognitions-2026.html"])
    let csv = String(decoding: try #require(files["recognitions-2026.csv"]), as: UTF8.self)
    #expect(csv.contains("\"名称\"\"引号\"\"\"") && csv.hasSuffix("\r\n"))
    let html = String(decoding: try #require(files["recognitions-2026.html"]), as: UTF8.self)
    #expect(html.contains("Base &lt;APP-1&gt;") && !html.contains("<APP-1>") && html.contains("83.600"))
    let decoded = try JSONDecoder().decode(RecognitionPublication.List.self, from: Data(try #require(files["recognitions-2026.json"])))
    #expect(decoded == a)
  }
}
