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
