import HiTechDomain

extension ResultsPublication {
  /// A static page for the public: no JavaScript, no external resources, inline CSS, headings
  /// in Chinese then English, every text from the data escaped with ``escapeHTML(_:)``.
  /// Sections: the programme goal (三(三)), the ranking per field (a table per field), the
  /// bases that did not report, and the rubric used.
  public static func html(_ results: RoundAssessment, publishedAt: String) -> String {
    let e = escapeHTML
    let year = results.reportYear
    let progress = results.progress
    var h: [String] = []
    h.append("""
      <!DOCTYPE html>
      <html lang="zh-CN">
      <head>
      <meta charset="utf-8">
      <meta name="viewport" content="width=device-width, initial-scale=1">
      <title>\(year)年度国家高技术产业基地考核结果 / National High-Tech Industrial Bases: Assessment Results \(year)</title>
      <style>
      body{font-family:sans-serif;margin:2em auto;max-width:64em;padding:0 1em;color:#222;line-height:1.5}
      h1{font-size:1.6em}h2{font-size:1.3em;border-bottom:1px solid #ccc;margin-top:2em}h3{font-size:1.1em}
      .en{color:#555;font-weight:normal}
      table{border-collapse:collapse;margin:0.5em 0 1.5em}
      th,td{border:1px solid #bbb;padding:0.3em 0.6em;text-align:left}td.num{text-align:right}
      th{background:#f0f0f0}
      .tier-excellent{background:#d9f2d9}.tier-good{background:#e8f4fc}.tier-pass{background:#fdf7dc}.tier-fail{background:#f9dede}
      </style>
      </head>
      <body>
      <h1>\(year)年度国家高技术产业基地考核结果<br><span class="en">National High-Tech Industrial Bases: Assessment Results \(year)</span></h1>
      <p>发布日期 / Published: \(e(publishedAt)) · 考核办法 / Rubric: \(e(results.rubric.rubricId))</p>
      """)

    // Programme goal.
    h.append("<h2>发展目标进展 <span class=\"en\">Progress towards the programme goal</span></h2>")
    let thresholdZh = progress.outputThreshold.exactBaseUnits.map { ExactDecimal.text($0, scale: 8) + " 亿元" } ?? "—"
    let thresholdEn = progress.outputThreshold.exactBaseUnits.map { ExactDecimal.text($0, scale: 9) + " billion yuan" } ?? "—"
    h.append("""
      <p>目标：形成百个左右产值规模超过千亿元的专业性国家高技术产业基地（指导意见 三（三））。<br>
      <span class="en">Goal: about a hundred specialized national bases with total output over 100 billion yuan (Guiding Opinions 3(3)).</span></p>
      <table>
      <tr><th>总产值超过\(e(thresholdZh))的专业性国家基地 / Specialized national bases with output over \(e(thresholdEn))</th><td class="num">\(progress.specializedBasesOverThreshold) / \(progress.targetCount)</td></tr>
      <tr><th>专业性国家基地 / Specialized national bases</th><td class="num">\(progress.specializedBases)</td></tr>
      <tr><th>综合性国家基地 / Comprehensive national bases</th><td class="num">\(progress.comprehensiveBases)</td></tr>
      <tr><th>已报送基地 / Bases that reported</th><td class="num">\(progress.basesReported)</td></tr>
      <tr><th>报送基地总产值（万元）/ Total output of reporting bases (10 000 yuan)</th><td class="num">\(e(ExactDecimal.tenThousandYuan(progress.basesTotalOutput) ?? "—"))</td></tr>
      """)
    if let national = progress.nationalHighTechOutput {
      h.append("<tr><th>全国高技术产业总产值（万元）/ National high-tech output (10 000 yuan)</th><td class=\"num\">\(e(ExactDecimal.tenThousandYuan(national) ?? "—"))</td></tr>")
      h.append("<tr><th>基地产值占全国比重 / Bases' share of national high-tech output</th><td class=\"num\">\(progress.shareOfNationalPPM.map(ExactDecimal.percent) ?? "—")</td></tr>")
    } else {
      h.append("<tr><th>基地产值占全国比重 / Bases' share of national high-tech output</th><td>未提供全国总产值 / national total not given</td></tr>")
    }
    h.append("</table>")

    // Ranking per field.
    h.append("<h2>分领域排名 <span class=\"en\">Ranking by field</span></h2>")
    h.append("<p>综合性基地列入其产值最大的领域。指标在同领域、同类型基地之间标准化。<br><span class=\"en\">A comprehensive base is listed under its field with the largest output. Indicators are normalised among bases of the same field and kind.</span></p>")
    for field in Field.allCases {
      let ranked = results.bases.filter { $0.primaryField == field && $0.reported }
        .sorted { ($0.fieldRank, $0.baseId) < ($1.fieldRank, $1.baseId) }
      guard !ranked.isEmpty else { continue }
      h.append("<h3>\(e(field.nameZh)) <span class=\"en\">\(e(field.nameEn))</span></h3>")
      h.append("<table>\n<tr><th>领域排名<br><span class=\"en\">Field rank</span></th><th>总排名<br><span class=\"en\">Overall rank</span></th><th>基地<br><span class=\"en\">Base</span></th><th>类型<br><span class=\"en\">Kind</span></th><th>级别<br><span class=\"en\">Level</span></th><th>总分<br><span class=\"en\">Score</span></th><th>档次<br><span class=\"en\">Tier</span></th></tr>")
      for base in ranked {
        h.append("<tr class=\"tier-\(base.tier.rawValue)\"><td class=\"num\">\(base.fieldRank)</td><td class=\"num\">\(base.rank) / \(base.rankedCount)</td><td>\(e(base.nameZh))<br><small>\(e(base.baseId))</small></td><td>\(kindName(base.kind))</td><td>\(levelName(base.level))</td><td class=\"num\">\(ExactDecimal.points(base.totalScoreMilli))</td><td>\(base.tier.nameZh) / \(base.tier.nameEn)\(base.late ? "<br><small>逾期报送 / reported late</small>" : "")</td></tr>")
      }
      h.append("</table>")
    }

    // Not reported.
    h.append("<h2>未报送基地 <span class=\"en\">Bases that did not report</span></h2>")
    let missing = results.bases.filter { !$0.reported }.sorted { $0.baseId < $1.baseId }
    if missing.isEmpty {
      h.append("<p>无 / None.</p>")
    } else {
      h.append("<table>\n<tr><th>基地<br><span class=\"en\">Base</span></th><th>领域<br><span class=\"en\">Field</span></th><th>报送单位代码<br><span class=\"en\">Reporter code</span></th><th>档次<br><span class=\"en\">Tier</span></th></tr>")
      for base in missing {
        h.append("<tr><td>\(e(base.nameZh))<br><small>\(e(base.baseId))</small></td><td>\(e(base.primaryField.nameZh)) / \(e(base.primaryField.nameEn))</td><td>\(e(base.reporterCode))</td><td>\(base.tier.nameZh) / \(base.tier.nameEn)</td></tr>")
      }
      h.append("</table>")
    }

    // Rubric.
    let rubric = results.rubric
    h.append("<h2>考核办法 <span class=\"en\">Assessment method</span></h2>")
    h.append("<p>考核办法编号 / Rubric: \(e(rubric.rubricId))</p>")
    if !rubric.description.isEmpty { h.append("<p>\(e(rubric.description))</p>") }
    h.append("<table>\n<tr><th>指标<br><span class=\"en\">Indicator</span></th><th>权重<br><span class=\"en\">Weight</span></th></tr>")
    for weight in rubric.weights.sorted(by: { $0.indicator < $1.indicator }) {
      h.append("<tr><td>\(e(weight.indicator.nameZh)) / \(e(weight.indicator.nameEn))</td><td class=\"num\">\(ExactDecimal.percent(weight.weightPPM))</td></tr>")
    }
    h.append("</table>")
    h.append("<table>\n<tr><th>档次<br><span class=\"en\">Tier</span></th><th>最低总分<br><span class=\"en\">Minimum score</span></th></tr>")
    for entry in rubric.thresholds.entries {
      h.append("<tr><td>\(entry.tier.nameZh) / \(entry.tier.nameEn)</td><td class=\"num\">\(ExactDecimal.points(entry.minTotalScoreMilli))</td></tr>")
    }
    h.append("<tr><td>\(SupportTier.fail.nameZh) / \(SupportTier.fail.nameEn)</td><td>低于合格线 / below pass</td></tr>")
    h.append("</table>")
    h.append("<p>数据来源：各省级发展改革委报送的年度数据（指导意见 六（三））。<br><span class=\"en\">Source: the annual figures reported by the provincial development and reform commissions (Guiding Opinions 6(3)).</span></p>")
    if let head = results.submissionsLog {
      h.append(
        "<p>所用报表均记入报送日志，树大小 \(head.treeSize)，根哈希 <code>\(e(head.rootHash))</code>，由密钥 <code>\(e(head.signingKeyId))</code> 于 \(e(head.signedAt)) 签署（results-\(results.reportYear).json 载有签名）。<br>"
          + "<span class=\"en\">Every assessed report is in the submissions log: tree size \(head.treeSize), root hash <code>\(e(head.rootHash))</code>, signed by key <code>\(e(head.signingKeyId))</code> at \(e(head.signedAt)) (the signature is in results-\(results.reportYear).json; each base's log index and leaf hash are in the JSON and CSV files).</span></p>")
    }
    h.append("</body>\n</html>\n")
    return h.joined(separator: "\n")
  }

  static func kindName(_ kind: BaseKind) -> String {
    switch kind {
    case .specialized: "专业性 / Specialized"
    case .comprehensive: "综合性 / Comprehensive"
    }
  }

  static func levelName(_ level: BaseLevel) -> String {
    switch level {
    case .national: "国家级 / National"
    case .provincial: "省级 / Provincial"
    }
  }
}
