/// Every addressee of the guiding opinion (发改高技[2009]3211号): 31 provincial-level
/// divisions, 5 separately planned cities, 10 sub-provincial capitals, and the XPCC.
///
/// The XPCC has no GB/T 2260 code; the system gives it "660000" (the 66 prefix is not used by
/// GB/T 2260, and 65 is Xinjiang's own), the same code as proto-schemas/data/reporters.txtpb.
public enum ReporterCatalogue {
  public static let all: [Reporter] = [
    Reporter(code: "110000", nameZh: "北京市", nameEn: "Beijing", kind: .provincial, parentCode: nil),
    Reporter(code: "120000", nameZh: "天津市", nameEn: "Tianjin", kind: .provincial, parentCode: nil),
    Reporter(code: "130000", nameZh: "河北省", nameEn: "Hebei", kind: .provincial, parentCode: nil),
    Reporter(code: "140000", nameZh: "山西省", nameEn: "Shanxi", kind: .provincial, parentCode: nil),
    Reporter(code: "150000", nameZh: "内蒙古自治区", nameEn: "Inner Mongolia", kind: .provincial, parentCode: nil),
    Reporter(code: "210000", nameZh: "辽宁省", nameEn: "Liaoning", kind: .provincial, parentCode: nil),
    Reporter(code: "220000", nameZh: "吉林省", nameEn: "Jilin", kind: .provincial, parentCode: nil),
    Reporter(code: "230000", nameZh: "黑龙江省", nameEn: "Heilongjiang", kind: .provincial, parentCode: nil),
    Reporter(code: "310000", nameZh: "上海市", nameEn: "Shanghai", kind: .provincial, parentCode: nil),
    Reporter(code: "320000", nameZh: "江苏省", nameEn: "Jiangsu", kind: .provincial, parentCode: nil),
    Reporter(code: "330000", nameZh: "浙江省", nameEn: "Zhejiang", kind: .provincial, parentCode: nil),
    Reporter(code: "340000", nameZh: "安徽省", nameEn: "Anhui", kind: .provincial, parentCode: nil),
    Reporter(code: "350000", nameZh: "福建省", nameEn: "Fujian", kind: .provincial, parentCode: nil),
    Reporter(code: "360000", nameZh: "江西省", nameEn: "Jiangxi", kind: .provincial, parentCode: nil),
    Reporter(code: "370000", nameZh: "山东省", nameEn: "Shandong", kind: .provincial, parentCode: nil),
    Reporter(code: "410000", nameZh: "河南省", nameEn: "Henan", kind: .provincial, parentCode: nil),
    Reporter(code: "420000", nameZh: "湖北省", nameEn: "Hubei", kind: .provincial, parentCode: nil),
    Reporter(code: "430000", nameZh: "湖南省", nameEn: "Hunan", kind: .provincial, parentCode: nil),
    Reporter(code: "440000", nameZh: "广东省", nameEn: "Guangdong", kind: .provincial, parentCode: nil),
    Reporter(code: "450000", nameZh: "广西壮族自治区", nameEn: "Guangxi", kind: .provincial, parentCode: nil),
    Reporter(code: "460000", nameZh: "海南省", nameEn: "Hainan", kind: .provincial, parentCode: nil),
    Reporter(code: "500000", nameZh: "重庆市", nameEn: "Chongqing", kind: .provincial, parentCode: nil),
    Reporter(code: "510000", nameZh: "四川省", nameEn: "Sichuan", kind: .provincial, parentCode: nil),
    Reporter(code: "520000", nameZh: "贵州省", nameEn: "Guizhou", kind: .provincial, parentCode: nil),
    Reporter(code: "530000", nameZh: "云南省", nameEn: "Yunnan", kind: .provincial, parentCode: nil),
    Reporter(code: "540000", nameZh: "西藏自治区", nameEn: "Tibet (Xizang)", kind: .provincial, parentCode: nil),
    Reporter(code: "610000", nameZh: "陕西省", nameEn: "Shaanxi", kind: .provincial, parentCode: nil),
    Reporter(code: "620000", nameZh: "甘肃省", nameEn: "Gansu", kind: .provincial, parentCode: nil),
    Reporter(code: "630000", nameZh: "青海省", nameEn: "Qinghai", kind: .provincial, parentCode: nil),
    Reporter(code: "640000", nameZh: "宁夏回族自治区", nameEn: "Ningxia", kind: .provincial, parentCode: nil),
    Reporter(code: "650000", nameZh: "新疆维吾尔自治区", nameEn: "Xinjiang", kind: .provincial, parentCode: nil),
    Reporter(code: "210200", nameZh: "大连市", nameEn: "Dalian", kind: .separatelyPlannedCity, parentCode: "210000"),
    Reporter(code: "370200", nameZh: "青岛市", nameEn: "Qingdao", kind: .separatelyPlannedCity, parentCode: "370000"),
    Reporter(code: "330200", nameZh: "宁波市", nameEn: "Ningbo", kind: .separatelyPlannedCity, parentCode: "330000"),
    Reporter(code: "350200", nameZh: "厦门市", nameEn: "Xiamen", kind: .separatelyPlannedCity, parentCode: "350000"),
    Reporter(code: "440300", nameZh: "深圳市", nameEn: "Shenzhen", kind: .separatelyPlannedCity, parentCode: "440000"),
    Reporter(code: "210100", nameZh: "沈阳市", nameEn: "Shenyang", kind: .subProvincialCapital, parentCode: "210000"),
    Reporter(code: "220100", nameZh: "长春市", nameEn: "Changchun", kind: .subProvincialCapital, parentCode: "220000"),
    Reporter(code: "230100", nameZh: "哈尔滨市", nameEn: "Harbin", kind: .subProvincialCapital, parentCode: "230000"),
    Reporter(code: "320100", nameZh: "南京市", nameEn: "Nanjing", kind: .subProvincialCapital, parentCode: "320000"),
    Reporter(code: "330100", nameZh: "杭州市", nameEn: "Hangzhou", kind: .subProvincialCapital, parentCode: "330000"),
    Reporter(code: "370100", nameZh: "济南市", nameEn: "Jinan", kind: .subProvincialCapital, parentCode: "370000"),
    Reporter(code: "420100", nameZh: "武汉市", nameEn: "Wuhan", kind: .subProvincialCapital, parentCode: "420000"),
    Reporter(code: "440100", nameZh: "广州市", nameEn: "Guangzhou", kind: .subProvincialCapital, parentCode: "440000"),
    Reporter(code: "510100", nameZh: "成都市", nameEn: "Chengdu", kind: .subProvincialCapital, parentCode: "510000"),
    Reporter(code: "610100", nameZh: "西安市", nameEn: "Xi'an", kind: .subProvincialCapital, parentCode: "610000"),
    Reporter(code: "660000", nameZh: "新疆生产建设兵团", nameEn: "Xinjiang Production and Construction Corps", kind: .xpcc, parentCode: "650000"),
  ]

  private static let byCode: [String: Reporter] = Dictionary(uniqueKeysWithValues: all.map { ($0.code, $0) })

  /// The reporter with a code, if it is one of the addressees.
  public static func reporter(code: String) -> Reporter? {
    byCode[code]
  }
}
