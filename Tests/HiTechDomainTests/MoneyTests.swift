import HiTechDomain
import Testing

@Suite("Money: exact units")
struct MoneyTests {
  @Test("1 亿元 == 10 000 万元 == 100 000 000 元, compared and converted exactly")
  func sameValue() {
    #expect(Amount(1, .cnyHundredMillion).compare(to: Amount(10_000, .cnyTenThousand)) == .equal)
    #expect(Amount(1, .cnyHundredMillion).isSameValue(as: Amount(100_000_000, .cnyYuan)) == true)
    #expect(Amount(1, .cnyHundredMillion) != Amount(10_000, .cnyTenThousand))  // representation differs
    #expect(Amount(1, .cnyHundredMillion).converted(to: .cnyTenThousand) == Amount(10_000, .cnyTenThousand))
    #expect(Amount(10_000, .cnyTenThousand).converted(to: .cnyHundredMillion) == Amount(1, .cnyHundredMillion))
    #expect(Amount(120_000, .cnyYuan).converted(to: .cnyTenThousand) == Amount(12, .cnyTenThousand))
    #expect(Amount(3, .usdTenThousand).converted(to: .usd) == Amount(30_000, .usd))
    #expect(Amount(9_999, .cnyTenThousand).compare(to: Amount(1, .cnyHundredMillion)) == .less)
    #expect(Amount(100_000_001, .cnyYuan).compare(to: Amount(1, .cnyHundredMillion)) == .greater)
    #expect(Amount(-1, .cnyHundredMillion).compare(to: Amount(-10_001, .cnyTenThousand)) == .greater)
  }

  @Test("a conversion to a larger unit must be exact")
  func notExact() {
    #expect(Amount(12_345, .cnyYuan).converted(to: .cnyTenThousand) == nil)
    #expect(Amount(10_001, .cnyTenThousand).converted(to: .cnyHundredMillion) == nil)
    #expect(throws: Amount.ConversionError.notExact) { try Amount(12_345, .cnyYuan).convertedOrThrow(to: .cnyTenThousand) }
  }

  @Test("a conversion beyond 64 bits fails; a comparison beyond 64 bits is still exact")
  func overflow() throws {
    let huge = Amount(Int64.max, .cnyHundredMillion)
    #expect(huge.inBaseUnits == nil)
    #expect(huge.converted(to: .cnyYuan) == nil)
    #expect(Amount(Int64.max / 10_000 + 1, .cnyTenThousand).converted(to: .cnyYuan) == nil)
    #expect(Amount(Int64.max / 10_000, .cnyTenThousand).converted(to: .cnyYuan) != nil)
    #expect(throws: Amount.ConversionError.overflow) { try huge.convertedOrThrow(to: .cnyTenThousand) }
    // Same unit and upward never overflow even when yuan would.
    #expect(huge.converted(to: .cnyHundredMillion) == huge)
    #expect(Amount(Int64.max - Int64.max % 10_000, .cnyTenThousand).converted(to: .cnyHundredMillion)
      == Amount((Int64.max - Int64.max % 10_000) / 10_000, .cnyHundredMillion))
    #expect(huge.compare(to: Amount(Int64.max, .cnyTenThousand)) == .greater)
    #expect(Amount(Int64.max - 1, .cnyHundredMillion).compare(to: huge) == .less)
    #expect(Amount(Int64.min, .cnyHundredMillion).compare(to: Amount(Int64.min, .cnyYuan)) == .less)
  }

  @Test("USD never converts to or compares with CNY; unknown units do neither")
  func currencies() {
    #expect(Amount(1, .usd).compare(to: Amount(1, .cnyYuan)) == nil)
    #expect(Amount(1, .usdTenThousand).converted(to: .cnyYuan) == nil)
    #expect(Amount(1, .cnyYuan).converted(to: .usd) == nil)
    #expect(Amount(1, .unspecified).compare(to: Amount(1, .unspecified)) == nil)
    #expect(Amount(1, .unrecognized).converted(to: .cnyYuan) == nil)
    #expect(throws: Amount.ConversionError.differentCurrencies) { try Amount(1, .usd).convertedOrThrow(to: .cnyYuan) }
    #expect(throws: Amount.ConversionError.unknownUnit) { try Amount(1, .unspecified).convertedOrThrow(to: .cnyYuan) }
  }

  @Test("calendar dates: ISO text, validity, order")
  func dates() {
    #expect(CalendarDate(iso: "2009-12-16") == CalendarDate(year: 2009, month: 12, day: 16))
    #expect(CalendarDate(year: 2009, month: 12, day: 16).iso == "2009-12-16")
    #expect(CalendarDate(iso: "2024-02-29") != nil)
    #expect(CalendarDate(iso: "2023-02-29") == nil)
    #expect(CalendarDate(iso: "1900-02-29") == nil)
    #expect(CalendarDate(iso: "2009-13-01") == nil)
    #expect(CalendarDate(iso: "2009-1-01") == nil)
    #expect(CalendarDate(year: 2009, month: 12, day: 16) < CalendarDate(year: 2010, month: 1, day: 1))
  }

  @Test("a base's recognition document and its kind/field consistency")
  func base() {
    var base = Base(id: "B", nameZh: "b", reporterCode: "110000", kind: .comprehensive, fields: [.ocean], level: .provincial)
    #expect(base.recognition == nil)
    #expect(!base.hasConsistentFields)
    base.fields.insert(.biology)
    #expect(base.hasConsistentFields)
    base.recognitionDocument = "发改高技[2009]3211号"
    #expect(base.recognition == Recognition(documentNumber: "发改高技[2009]3211号"))
    #expect(beijingBase.recognitionDocument == "样例[2010]1号")
    #expect(beijingBase.isRecognised)
  }
}
