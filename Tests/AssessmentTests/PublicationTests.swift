import Assessment
import Foundation
import HiTechDomain
import Testing

@Suite("Published results")
struct PublicationTests {
  /// The example, with a hostile name and a name that needs CSV quoting.
  static func results() throws -> RoundAssessment {
    var inputs = Fixture.exampleInputs()
    inputs[0].base.nameZh = "<script>alert(\"x\")</script>中关村 & 'A'"
    inputs[1].base.nameZh = "深圳,\"信息\"基地\n第二行"
    return try Assessor.assess(
      reportYear: 2025, inputs: inputs, expertScores: Fixture.exampleExperts,
      nationalHighTechOutput: Fixture.yi(45_000), rubric: Fixture.smallRubric)
  }

  @Test("three files, named by year")
  func names() throws {
    let files = ResultsPublication.render(try Self.results(), publishedAt: "2026-06-30")
    #expect(files.keys.sorted() == ["results-2025.csv", "results-2025.html", "results-2025.json"])
  }

  @Test("the JSON decodes back to the same results, with sorted keys")
  func jsonRoundTrip() throws {
    let results = try Self.results()
    let bytes = ResultsPublication.render(results, publishedAt: "2026-06-30")["results-2025.json"]!
    #expect(try ResultsPublication.decode(json: bytes) == results)
    let text = String(decoding: bytes, as: UTF8.self)
    #expect(text.hasPrefix("{\n  \"bases\" : ["))
    #expect(text.hasSuffix("}\n"))
  }

  @Test("CSV: a header and one row per base, RFC 4180 quoting, money in 万元")
  func csv() throws {
    let text = ResultsPublication.csv(try Self.results())
    #expect(text.hasPrefix("\u{FEFF}report_year,base_id,name_zh,"))
    #expect(text.hasSuffix("\r\n"))
    // Records end with CRLF; the quoted name holds a bare LF, which is not a record end.
    let records = text.dropFirst().components(separatedBy: "\r\n").dropLast()
    #expect(records.count == 1 + 5)
    #expect(records.first == ResultsPublication.csvHeader.joined(separator: ","))
    let b = records.first { $0.contains("HTB-440300-INF") }!
    #expect(b.contains(",\"深圳,\"\"信息\"\"基地\n第二行\","))
    // B's output 8 000 000 万元; C's 50 000 000 000 元 = 5 000 000 万元.
    #expect(b.contains(",8000000,"))
    let c = records.first { $0.contains("HTB-320100-INF") }!
    #expect(c.hasPrefix("2025,HTB-320100-INF,基地HTB-320100-INF,320100,specialized,provincial,information,information,fail,4,4,3,3,10000,5000000,,,"))
    let e = records.first { $0.contains("HTB-510100-BIO") }!
    #expect(e.contains(",not_reported,,4,,1,,"))
    #expect(ResultsPublication.csvField("plain") == "plain")
    #expect(ResultsPublication.csvField("a,b") == "\"a,b\"")
    #expect(ResultsPublication.csvField("say \"hi\"") == "\"say \"\"hi\"\"\"")
    #expect(ResultsPublication.csvField("x\r\ny") == "\"x\r\ny\"")
  }

  @Test("exact decimal money in the CSV: 12 345 元 = 1.2345 万元")
  func csvMoney() throws {
    let r = try Assessor.assess(
      reportYear: 2025,
      inputs: [AssessmentInput(base: Fixture.base("HTB-1"), report: Fixture.report(output: Amount(12_345, .cnyYuan)))],
      expertScores: [], nationalHighTechOutput: nil, rubric: Fixture.smallRubric)
    #expect(ResultsPublication.csv(r).contains(",1.2345,"))
  }

  @Test("HTML escaping")
  func escaping() throws {
    #expect(ResultsPublication.escapeHTML("<script>a & 'b' \"c\"</script>") == "&lt;script&gt;a &amp; &#39;b&#39; &quot;c&quot;&lt;/script&gt;")
    let html = ResultsPublication.html(try Self.results(), publishedAt: "2026-06-30<b>")
    #expect(!html.contains("<script"))
    #expect(!html.contains("<b>"))
    #expect(html.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;中关村 &amp; &#39;A&#39;"))
    #expect(html.contains("2026-06-30&lt;b&gt;"))
  }

  @Test("HTML: no script, no external resource; per-field tables, tiers, goal, rubric, not reported")
  func htmlContent() throws {
    let html = ResultsPublication.html(try Self.results(), publishedAt: "2026-06-30")
    #expect(!html.contains("src="))
    #expect(!html.contains("href="))
    #expect(!html.contains("http"))
    #expect(html.contains("<h3>信息 <span class=\"en\">Information</span></h3>"))
    #expect(html.contains("<h3>生物 <span class=\"en\">Biology</span></h3>"))
    #expect(!html.contains("<h3>海洋"))
    #expect(html.contains("优秀 / Excellent"))
    #expect(html.contains(">1 / 100<"))  // 1 specialized base over 1000 亿元, target 100
    #expect(html.contains(">10%<"))  // share of national output
    #expect(html.contains("未报送基地"))
    #expect(html.contains("HTB-510100-BIO"))
    #expect(html.contains("总产值增长率 / Output growth</td><td class=\"num\">30%"))
    #expect(html.contains(">72<"))  // A's total, 72 000 milli-points
  }

  @Test("rendering twice gives identical bytes, whatever the input order")
  func reproducible() throws {
    let first = ResultsPublication.render(try Self.results(), publishedAt: "2026-06-30")
    let second = ResultsPublication.render(try Self.results(), publishedAt: "2026-06-30")
    #expect(first == second)
    let shuffled = try Assessor.assess(
      reportYear: 2025, inputs: Fixture.exampleInputs().reversed(), expertScores: Fixture.exampleExperts.reversed(),
      nationalHighTechOutput: Fixture.yi(45_000), rubric: Fixture.smallRubric)
    #expect(
      ResultsPublication.render(shuffled, publishedAt: "x") == ResultsPublication.render(try Fixture.example(), publishedAt: "x"))
  }

  @Test("write: files appear; writing again changes nothing; a change rewrites only that file")
  func write() throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("assessment-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let target = folder + "/public/2025"
    let files = ResultsPublication.render(try Self.results(), publishedAt: "2026-06-30")
    #expect(try ResultsPublication.write(files, to: target) == files.keys.sorted())
    for (name, bytes) in files {
      #expect(FileManager.default.contents(atPath: target + "/" + name).map(Array.init) == bytes)
    }
    let before = try FileManager.default.attributesOfItem(atPath: target + "/results-2025.json")[.modificationDate] as? Date
    #expect(try ResultsPublication.write(files, to: target) == [])
    let after = try FileManager.default.attributesOfItem(atPath: target + "/results-2025.json")[.modificationDate] as? Date
    #expect(before == after)
    var changed = files
    changed["results-2025.html"] = ResultsPublication.render(try Self.results(), publishedAt: "2026-07-01")["results-2025.html"]
    #expect(try ResultsPublication.write(changed, to: target) == ["results-2025.html"])
    #expect(try FileManager.default.contentsOfDirectory(atPath: target).sorted() == files.keys.sorted())
    #expect(throws: PublicationError.self) { try ResultsPublication.write(["../x": []], to: target) }
  }
}
