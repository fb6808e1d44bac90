import Foundation

/// One page of a reporter's receipts, newest first.
public struct SubmissionPage: Sendable, Hashable {
  public var receipts: [StoredReceipt]
  /// Pass to the next call for the following page; nil on the last page. Opaque.
  public var nextPageToken: String?

  public init(receipts: [StoredReceipt], nextPageToken: String?) {
    self.receipts = receipts
    self.nextPageToken = nextPageToken
  }
}

extension SubmissionPage {
  /// The token of the page after the one ending at row `rowId` (same format on every backend).
  package static func token(before rowId: Int64) -> String {
    Data("s1:\(rowId)".utf8).base64EncodedString()
  }

  /// The row a ``token(before:)`` names, or nil for a token no store made.
  package static func rowId(fromToken token: String) -> Int64? {
    guard let data = Data(base64Encoded: token), let text = String(data: data, encoding: .utf8),
      text.hasPrefix("s1:"), let rowId = Int64(text.dropFirst(3)), rowId > 0
    else { return nil }
    return rowId
  }
}
