public import GRPCCore
public import ServiceLifecycle

/// Runs a `GRPCServer` as a swift-service-lifecycle `Service`: `run()` serves until graceful
/// shutdown (SIGTERM/SIGINT through a `ServiceGroup`) asks the server to stop taking RPCs and
/// to finish the ones in flight.
@available(gRPCSwift 2.0, *)
public struct GRPCServerService<Transport: ServerTransport>: Service {
  public let server: GRPCServer<Transport>

  public init(server: GRPCServer<Transport>) {
    self.server = server
  }

  /// A graceful shutdown that comes before the server has started (SIGTERM while the daemon
  /// still starts) ends `run()` without an error: nothing was served. The transport is told,
  /// so that nobody waits for it to listen.
  public func run() async throws {
    do {
      try await withGracefulShutdownHandler {
        try await server.serve()
      } onGracefulShutdown: {
        server.beginGracefulShutdown()
      }
    } catch let error as RuntimeError where error.code == .serverIsStopped {
      server.transport.beginGracefulShutdown()
    }
  }
}

/// Runs a `GRPCClient`'s connections as a `Service`, shut down gracefully with its group.
@available(gRPCSwift 2.0, *)
public struct GRPCClientService<Transport: ClientTransport>: Service {
  public let client: GRPCClient<Transport>

  public init(client: GRPCClient<Transport>) {
    self.client = client
  }

  public func run() async throws {
    try await withGracefulShutdownHandler {
      try await client.runConnections()
    } onGracefulShutdown: {
      client.beginGracefulShutdown()
    }
  }
}
