import AggregatorStore
import ArgumentParser
import Assessment
import Foundation
import HiTechDomain

/// The evaluating office's commands (proto-schemas/APPLICATIONS.md): they work on the
/// aggregator's store, like the registry commands, and write every change to its audit log with
/// --actor. A recognition changes the registry in the decision's transaction.
struct EvaluateCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "evaluate",
    abstract: "Evaluate applications: calls, experts, scores per criterion, decisions (on the aggregator's store).",
    discussion: """
      The scoring method and its default weighting are in proto-schemas/APPLICATIONS.md; --weighting
      names a JSON file with another ({"weightingId": …, "weights": {"functional_positioning":
      100000, …}, "thresholdMilli": 70000, "minExperts": 3}).
      """,
    subcommands: [Call.self, Expert.self, List.self, Show.self, Start.self, Score.self, Decide.self, Publish.self]
  )

  static func withStore<T>(_ options: StoreOptions, _ body: (any ReportStore, any ApplicationStore) async throws -> T) async throws -> T {
    let store = try await options.open()
    guard let applications = store as? any ApplicationStore else {
      try? await store.close()
      throw ValidationError("the store \(try options.location) keeps no applications")
    }
    do {
      let value = try await body(store, applications)
      try await store.close()
      return value
    } catch let error as StoreError {
      try? await store.close()
      print("hitech coordinator evaluate: \(error.message)")
      throw ExitCode(1)
    } catch {
      try? await store.close()
      throw error
    }
  }

  struct WeightingOption: ParsableArguments {
    @Option(help: "The weighting (JSON); default: the documented one.") var weighting: String?

    func load() throws -> ApplicationWeighting {
      guard let weighting else { return .standard }
      guard let data = FileManager.default.contents(atPath: weighting),
        let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
      else {
        print("hitech coordinator evaluate: \(weighting): not a JSON object")
        throw ExitCode(78)
      }
      var loaded = ApplicationWeighting(weightingId: object["weightingId"] as? String ?? "", weightsPPM: [:], thresholdMilli: 70_000, minExperts: 3)
      for (name, value) in object["weights"] as? [String: Any] ?? [:] {
        guard let criterion = EvaluationCriterion(name: name), let weight = (value as? NSNumber)?.int64Value else {
          print("hitech coordinator evaluate: \(weighting): weights.\(name): not a criterion with a number")
          throw ExitCode(78)
        }
        loaded.weightsPPM[criterion] = weight
      }
      if let threshold = (object["thresholdMilli"] as? NSNumber)?.int64Value { loaded.thresholdMilli = threshold }
      if let experts = (object["minExperts"] as? NSNumber)?.intValue { loaded.minExperts = experts }
      if let problem = loaded.problems.first {
        print("hitech coordinator evaluate: \(weighting): \(problem)")
        throw ExitCode(78)
      }
      return loaded
    }
  }

  struct Call: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Record a call's state: planned, open, closed, evaluating, evaluated.")
    @OptionGroup var store: StoreOptions
    @Option(help: "The call year.") var year: Int
    @Option(help: "planned, open, closed, evaluating or evaluated.") var state: String
    @Option(help: "Why (audited).") var reason: String = ""

    func run() async throws {
      guard let state = ApplicationCallRecord.State(rawValue: state) else {
        throw ValidationError("--state: one of \(ApplicationCallRecord.State.allCases.map(\.rawValue).joined(separator: ", "))")
      }
      try await EvaluateCommand.withStore(store) { _, applications in
        var call = try await applications.call(year: year) ?? ApplicationCallRecord(callYear: year, state: state)
        call.state = state
        try await applications.setCall(call, reason: reason, actor: store.actor)
      }
      print("call \(year): \(state.rawValue)")
    }
  }

  struct Expert: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Add or change an expert of the pool.")
    @OptionGroup var store: StoreOptions
    @Option(help: "The expert's id, e.g. EXP-0042.") var id: String
    @Option(help: "The expert's province (GB/T 2260, …0000; 660000 for the XPCC).") var province: String
    @Option(help: "economic, technical or other.") var domain: String = "technical"
    @Option(help: "The expert's name (never published).") var name: String = ""
    @Flag(help: "The expert left the pool.") var inactive = false

    func run() async throws {
      guard ["economic", "technical", "other"].contains(domain) else { throw ValidationError("--domain: economic, technical or other") }
      try await EvaluateCommand.withStore(store) { _, applications in
        try await applications.upsertExpert(
          ExpertRecord(expertId: id, name: name, domain: domain, provinceCode: province, active: !inactive), actor: store.actor)
      }
      print("expert \(id): \(domain), province \(province)\(inactive ? ", inactive" : "")")
    }
  }

  struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the applications with their state and score.")
    @OptionGroup var store: StoreOptions
    @OptionGroup var weighting: WeightingOption
    @Option(help: "Only this call year.") var year: Int?

    func run() async throws {
      let weighting = try weighting.load()
      try await EvaluateCommand.withStore(store) { _, applications in
        print("APPLICATION      REF              APPLICANT  KIND                 STATE             EXPERTS  SCORE    RECOMMENDED")
        for application in try await applications.applications(callYear: year, reporterCode: nil, states: []) {
          let evaluations = try await applications.evaluations(applicationId: application.applicationId)
          let score = ApplicationScoring.score(evaluations.map(\.criterionScores), weighting: weighting)
          print(
            [
              application.applicationId.padding(16), application.applicationRef.padding(16), application.reporterCode.padding(10),
              application.kind.rawValue.padding(20), application.state.rawValue.padding(17), String(score.experts).padding(8),
              milli(score.scoreMilli).padding(8), score.complete ? (score.recommended ? "yes" : "no") : "-",
            ].joined(separator: " "))
        }
      }
    }
  }

  struct Show: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "One application: revisions, scores per criterion, decision, history.")
    @OptionGroup var store: StoreOptions
    @OptionGroup var weighting: WeightingOption
    @Option(help: "The application id, e.g. APP-2026-000007.") var application: String

    func run() async throws {
      let weighting = try weighting.load()
      try await EvaluateCommand.withStore(store) { _, applications in
        guard let found = try await applications.application(id: application) else {
          throw ValidationError("no application \(application)")
        }
        print("\(found.applicationId)  \(found.applicationRef)  applicant \(found.reporterCode)  call \(found.callYear)  \(found.kind.rawValue)\(found.upgradesBaseId.isEmpty ? "" : " of \(found.upgradesBaseId)")")
        print("state \(found.state.rawValue), revision \(found.latestRevision): \(found.proposedBase.nameZh) (\(found.proposedBase.kind.rawValue), \(found.proposedBase.fields.joined(separator: ", ")), city \(found.proposedBase.cityCode))")
        let evaluations = try await applications.evaluations(applicationId: application)
        for evaluation in evaluations {
          let scores = EvaluationCriterion.allCases.map { milli(evaluation.scoresMilli[$0] ?? 0) }.joined(separator: " ")
          print("  expert \(evaluation.expertId.padding(12)) \(scores)  by \(evaluation.actor)")
        }
        let score = ApplicationScoring.score(evaluations.map(\.criterionScores), weighting: weighting)
        print("score \(milli(score.scoreMilli)) (\(score.weightingId), \(score.experts) expert(s), threshold \(milli(score.thresholdMilli))): "
          + (score.complete ? (score.recommended ? "recommended" : "not recommended") : "incomplete"))
        if let decision = try await applications.decision(applicationId: application) {
          print("decision \(decision.recognised ? "recognised" : "not recognised") by \(decision.documentNumber) of \(decision.documentDate)"
            + (decision.baseId.isEmpty ? "" : ", base \(decision.baseId)") + (decision.reason.isEmpty ? "" : ": \(decision.reason)"))
        }
        for change in try await applications.applicationHistory(applicationId: application) {
          print("  \(change.from?.rawValue ?? "-") → \(change.to.rawValue)  by \(change.actor)\(change.reason.isEmpty ? "" : ": \(change.reason)")")
        }
      }
    }
  }

  struct Start: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Start the experts' evaluation of an application (its call closed).")
    @OptionGroup var store: StoreOptions
    @Option(help: "The application id.") var application: String
    @Option(help: "Why (audited).") var reason: String = ""

    func run() async throws {
      let started = try await EvaluateCommand.withStore(store) { _, applications in
        try await applications.startEvaluation(applicationId: application, reason: reason, actor: store.actor)
      }
      print("\(started.applicationId): \(started.state.rawValue)")
    }
  }

  struct Score: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Record one expert's scores of an application, all ten criteria.",
      discussion: """
        --score CRITERION=POINTS for each of the ten criteria (0 to 100, up to three decimals),
        e.g. --score functional_positioning=82.5; or --all POINTS for one score on every
        criterion not named. An expert from the applicant's province is refused
        (R-APP-EXPERT-CONFLICT), and the refusal is audited.
        """
    )
    @OptionGroup var store: StoreOptions
    @Option(help: "The application id.") var application: String
    @Option(help: "The expert's id.") var expert: String
    @Option(help: "CRITERION=POINTS (repeatable).") var score: [String] = []
    @Option(help: "POINTS for every criterion not given with --score.") var all: String?
    @Flag(help: "The expert recommends recognition.") var recommends = false

    func run() async throws {
      var scores: [EvaluationCriterion: Int64] = [:]
      for item in score {
        let parts = item.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2, let criterion = EvaluationCriterion(name: parts[0]) else {
          throw ValidationError("--score \(item): CRITERION=POINTS, CRITERION one of \(EvaluationCriterion.allCases.map(\.name).joined(separator: ", "))")
        }
        scores[criterion] = try Self.milli(parts[1], "--score \(item)")
      }
      if let all {
        let value = try Self.milli(all, "--all")
        for criterion in EvaluationCriterion.allCases where scores[criterion] == nil { scores[criterion] = value }
      }
      let recommends = self.recommends
      try await EvaluateCommand.withStore(store) { _, applications in
        try await applications.recordEvaluation(
          ExpertEvaluationRecord(applicationId: application, expertId: expert, scoresMilli: scores, recommends: recommends),
          actor: store.actor)
      }
      print("\(application): scores of expert \(expert) recorded")
    }

    /// Points with up to three decimals as milli-points, exactly.
    static func milli(_ text: String, _ what: String) throws -> Int64 {
      let parts = text.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
      guard (1...2).contains(parts.count), let whole = Int64(parts[0]), whole >= 0, whole <= 100,
        parts.count == 1 || (1...3).contains(parts[1].count) && parts[1].allSatisfy(\.isNumber)
      else { throw ValidationError("\(what): points from 0 to 100 with up to three decimals") }
      let fraction = parts.count == 2 ? Int64(parts[1].padding(toLength: 3, withPad: "0", startingAt: 0))! : 0
      let value = whole * 1000 + fraction
      guard value <= 100_000 else { throw ValidationError("\(what): at most 100 points") }
      return value
    }
  }

  struct Decide: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Record the decision on an application; a recognition registers or re-levels the base at once.",
      discussion: """
        --recognised with --base-id (a new base; unused, [A-Z0-9-]) or for an upgrade (the
        upgraded base), or --not-recognised with --reason. A decision departing from the
        recommendation needs --reason too.
        """
    )
    @OptionGroup var store: StoreOptions
    @OptionGroup var weighting: WeightingOption
    @Option(help: "The application id.") var application: String
    @Flag(inversion: .prefixedNo, help: "Recognised (--recognised) or not (--no-recognised).") var recognised: Bool
    @Option(help: "The decision document's number, e.g. 发改高技[2026]123号.") var document: String
    @Option(help: "The document's date, YYYY-MM-DD.") var date: String
    @Option(help: "For a new base: the base id to register.") var baseId: String = ""
    @Option(help: "For a new base: the first report year expected (default: the document's year).") var firstReportYear: Int = 0
    @Option(help: "Why.") var reason: String = ""
    @Option(help: "The issuer.") var issuer: String = "国家发展改革委"

    func run() async throws {
      let weighting = try weighting.load()
      let decision = ApplicationDecisionRecord(
        applicationId: application, recognised: recognised, documentNumber: document, documentDate: date, issuer: issuer,
        baseId: baseId, firstReportYear: firstReportYear, reason: reason)
      let decided = try await EvaluateCommand.withStore(store) { store, applications in
        let decided = try await applications.recordDecision(decision, weighting: weighting, actor: self.store.actor)
        let stored = try await applications.decision(applicationId: application)
        var base: BaseRecord?
        if let stored, !stored.baseId.isEmpty { base = try await store.base(id: stored.baseId) }
        return (decided, stored, base)
      }
      print("\(decided.0.applicationId): \(decided.0.state.rawValue) by \(document)")
      if let base = decided.2 {
        print("base \(base.baseId): \(base.nameZh), \(base.level.rawValue), reporter \(base.reporterCode), first report year \(base.firstReportYear)")
      }
    }
  }
}

extension EvaluateCommand {
  struct Publish: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Publish the bases recognised or upgraded by the decisions of a year (JSON, CSV, HTML).",
      discussion: """
        Writes recognitions-YEAR.json, .csv and .html into --output; the same decisions give the
        same bytes, and an unchanged file is not touched.
        """
    )
    @OptionGroup var store: StoreOptions
    @Option(help: "The year of the decision documents.") var year: Int
    @Option(help: "The folder to write into.") var output: String = "published"

    func run() async throws {
      let list = try await EvaluateCommand.withStore(store) { store, applications in
        var entries: [RecognitionPublication.Entry] = []
        for decision in try await applications.decisions(documentYear: year, recognisedOnly: true) {
          guard let application = try await applications.application(id: decision.applicationId),
            let base = try await store.base(id: decision.baseId)
          else { continue }
          entries.append(
            RecognitionPublication.Entry(
              applicationId: application.applicationId, kind: application.kind.rawValue, baseId: base.baseId,
              nameZh: base.nameZh, nameEn: base.nameEn, reporterCode: base.reporterCode, cityCode: base.cityCode,
              cityNameZh: base.cityNameZh, baseKind: base.kind.rawValue, fields: base.fields, level: "national",
              documentNumber: decision.documentNumber, documentDate: decision.documentDate, issuer: decision.issuer,
              firstReportYear: base.firstReportYear, scoreMilli: decision.scoreMilli, weightingId: decision.weightingId))
        }
        return RecognitionPublication.List(year: year, recognitions: entries)
      }
      let written = try ResultsPublication.write(RecognitionPublication.render(list), to: output)
      print("\(list.recognitions.count) recognition(s) of \(year) in \(output)\(written.isEmpty ? " (unchanged)" : ": " + written.joined(separator: ", "))")
    }
  }
}

private func milli(_ value: Int64) -> String {
  "\(value / 1000).\(String(format: "%03d", Int(value % 1000)))"
}

extension String {
  fileprivate func padding(_ width: Int) -> String {
    count >= width ? self : self + String(repeating: " ", count: width - count)
  }
}
