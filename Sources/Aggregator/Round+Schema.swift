import AggregatorStore
import DaemonSupport
import Foundation
import HiTechDomain
import HiTechSchema
import SwiftProtobuf

// Mapping between the store's view of rounds and bases and the wire messages (the round
// state's own mapping is DaemonSupport's).

extension Ndrc_Hitech_V1_LatePolicy {
  init(_ policy: RoundRecord.LatePolicy) {
    switch policy {
    case .acceptMarkLate: self = .acceptMarkLate
    case .refuse: self = .refuse
    }
  }
}

extension Ndrc_Hitech_V1_Round {
  /// The round as the store knows it: the coordinator's full message when it sent one, else
  /// the fields an operator set with `hitech rounds set`.
  init(_ record: RoundRecord, detail: [UInt8]?) {
    if let detail, let full = try? Ndrc_Hitech_V1_Round(serializedBytes: detail) {
      self = full
    } else {
      self.init()
      reportYear = Int32(clamping: record.reportYear)
      if let opens = record.opensAtMicros { opensAt = Google_Protobuf_Timestamp(microsecondsSince1970: opens) }
      if let deadline = record.deadlineMicros { self.deadline = Google_Protobuf_Timestamp(microsecondsSince1970: deadline) }
      latePolicy = Ndrc_Hitech_V1_LatePolicy(record.latePolicy)
    }
    // The state the aggregator admits by is the stored one.
    state = Ndrc_Hitech_V1_RoundState(record.state)
  }
}

extension Google_Protobuf_Timestamp {
  var microsecondsSince1970: Int64 {
    seconds * 1_000_000 + Int64(nanos / 1000)
  }
}

extension Ndrc_Hitech_V1_Base {
  /// The registry's base as sent to nodes and to the coordinator.
  init(_ record: BaseRecord) {
    self.init()
    baseID = record.baseId
    nameZh = record.nameZh
    nameEn = record.nameEn
    kind = record.kind == .specialized ? .specialized : .comprehensive
    fields = record.fields.compactMap(Ndrc_Hitech_V1_Field.init(name:))
    level = record.level == .national ? .national : .provincial
    reporterCode = record.reporterCode
    cityCode = record.cityCode
    cityNameZh = record.cityNameZh
    if !record.recognitionDocument.isEmpty {
      var recognition = Ndrc_Hitech_V1_Recognition()
      recognition.documentNumber = record.recognitionDocument
      let parts = record.recognitionDate.split(separator: "-").compactMap { Int32($0) }
      if parts.count == 3 {
        recognition.date.year = parts[0]
        recognition.date.month = parts[1]
        recognition.date.day = parts[2]
      }
      recognition.level = level
      self.recognition = recognition
    }
    status = record.status == .active ? .active : .withdrawn
    firstReportYear = Int32(clamping: record.firstReportYear)
  }
}

extension Ndrc_Hitech_V1_Field {
  /// The field of the store's spelling (HiTechDomain `Field`'s raw value: "information",
  /// "new_energy", ...).
  init?(name: String) {
    guard let field = Field(rawValue: name) else { return nil }
    self.init(field)
  }
}
