import ArgumentParser
import DaemonSupport
import Foundation
import GRPCCore
import HiTechSchema
import SwiftProtobuf
import ZeroMQTransport

struct Submit: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Send one report message file to the aggregator once, and print the receipt.",
    discussion: """
      The file is a ndrc.hitech.v1.Submission: binary protobuf (.pb) or its canonical JSON
      form (.json). When content_sha256 is empty it is computed, and an empty submission_id gets a
      new one (a resend of the same content then gets the original receipt). With --dry-run the aggregator
      validates exactly as for a submission and stores nothing. Exit status: 0 stored (or
      valid), 1 refused (the gRPC status and every finding are printed), 2 not delivered.
      """
  )

  @Argument(help: "The message file (.json or .pb).")
  var file: String

  @Option(help: "The aggregator's endpoint.")
  var endpoint: String = "tcp://127.0.0.1:7400"

  @Option(help: "The aggregator's CURVE public key file.")
  var serverKey: String

  @Option(help: "This node's CURVE secret key file (mode 0600).")
  var secretKey: String

  @Flag(help: "Validate only; store nothing.")
  var dryRun = false

  @Option(help: "Deadline in seconds.")
  var timeout: Double = 10

  func run() async throws {
    let submission = try Self.read(file)
    let security = ZeroMQTransport.Security.curveClient(
      keyPair: try CurveKeyFile.readKeyPair(secretKeyPath: secretKey),
      serverPublicKey: try CurveKeyFile.readPublicKey(serverKey)
    )
    var options = CallOptions.defaults
    options.timeout = .milliseconds(Int64(timeout * 1000))
    let callOptions = options
    let dryRun = self.dryRun
    var json = JSONEncodingOptions()
    json.alwaysPrintEnumsAsInts = false
    let printOptions = json
    do {
      try await withGRPCClient(transport: ZeroMQTransport.Client(endpoint: endpoint, security: security)) { grpc in
        let client = Ndrc_Hitech_V1_ReportIngest.Client(wrapping: grpc)
        if dryRun {
          let result = try await client.validateSubmission(submission, options: callOptions)
          print(try result.jsonString(options: printOptions))
          if !result.valid { throw ExitCode(1) }
        } else {
          let receipt = try await client.submit(submission, options: callOptions)
          print(try receipt.jsonString(options: printOptions))
        }
      }
    } catch let error as RPCError {
      print("\(file): \(error.code): \(error.message)")
      if let bytes = error.metadata[binaryValues: "hitech-receipt-bin"].first(where: { _ in true }),
        let receipt = try? Ndrc_Hitech_V1_Receipt(serializedBytes: bytes)
      {
        print(try receipt.jsonString(options: printOptions))
      }
      let retryable: Set<RPCError.Code> = [.unavailable, .deadlineExceeded, .resourceExhausted]
      throw ExitCode(retryable.contains(error.code) ? 2 : 1)
    }
  }

  /// Reads a message file; `completing` fills an empty submission id and content hash.
  static func read(_ path: String, completing: Bool = true) throws -> Ndrc_Hitech_V1_Submission {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw ValidationError("\(path): cannot read the file")
    }
    var submission: Ndrc_Hitech_V1_Submission
    do {
      if path.hasSuffix(".pb") {
        submission = try Ndrc_Hitech_V1_Submission(serializedBytes: data)
      } else {
        submission = try Ndrc_Hitech_V1_Submission(jsonUTF8Data: data)
      }
    } catch {
      throw ValidationError("\(path): not a ndrc.hitech.v1.Submission (\(error))")
    }
    // A file made by `report from-csv` leaves the id to whoever sends it (the node assigns one
    // and keeps it across retries); a one-off send gets a fresh one. A resend of the same
    // content is then answered with the original receipt (DUPLICATE).
    guard completing else { return submission }
    if submission.submissionID.isEmpty { submission.submissionID = UUID().uuidString.lowercased() }
    if submission.contentSha256.isEmpty { submission = try submission.sealed() }
    return submission
  }
}
