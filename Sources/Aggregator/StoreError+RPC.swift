import AggregatorStore
import GRPCCore

/// Runs a store call for an RPC, turning a ``AggregatorStore/StoreError`` into the gRPC status
/// every service of the aggregator answers with: `unavailable` when a retry can help, else
/// `internalError`, with the store's message.
func storeCall<T>(_ body: () async throws -> T) async throws -> T {
  do {
    return try await body()
  } catch let error as StoreError {
    throw RPCError(code: error.isRetryable ? .unavailable : .internalError, message: error.message)
  }
}
