import ArgumentParser
import DaemonSupport
import Foundation
import GRPCCore
import HiTechSchema
import SwiftProtobuf
import ZeroMQTransport

/// The clerk's commands for applications (proto-schemas/APPLICATIONS.md).
struct ApplicationCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "application",
    abstract: "Applications for recognition as a national base, or for an upgrade: write, check and file them.",
    subcommands: [Template.self, Check.self, File.self]
  )

  static var jsonOptions: JSONEncodingOptions {
    var options = JSONEncodingOptions()
    options.alwaysPrintEnumsAsInts = false
    options.preserveProtoFieldNames = false
    return options
  }

  /// Reads an application message file (.json, or binary .pb); `completing` fills an empty
  /// submission id and content hash.
  static func read(_ path: String, completing: Bool) throws -> Ndrc_Hitech_V1_ApplicationSubmission {
    guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
      let size = attributes[.size] as? Int
    else { throw ValidationError("\(path): cannot read the file") }
    // Attachments may be 3 MiB, base64 in JSON; the message at most 4 MiB on the wire.
    guard size <= 8 << 20 else { throw ValidationError("\(path): \(size) bytes; an application file is at most 8 MiB") }
    guard let data = FileManager.default.contents(atPath: path) else { throw ValidationError("\(path): cannot read the file") }
    var submission: Ndrc_Hitech_V1_ApplicationSubmission
    do {
      submission =
        path.hasSuffix(".pb")
        ? try Ndrc_Hitech_V1_ApplicationSubmission(serializedBytes: data)
        : try Ndrc_Hitech_V1_ApplicationSubmission(jsonUTF8Data: data)
    } catch {
      throw ValidationError("\(path): not a ndrc.hitech.v1.ApplicationSubmission (\(error))")
    }
    guard completing else { return submission }
    if submission.submissionID.isEmpty { submission.submissionID = UUID().uuidString.lowercased() }
    if submission.contentSha256.isEmpty { submission = try submission.sealed() }
    return submission
  }

  struct Template: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Write a filled-in application (JSON) to start from.",
      discussion: """
        Every field the checks need is there with placeholder text and figures that pass them:
        replace them with the base's own. Attach files with --attach NAME=PATH (PDF, at most 8,
        each at most 1 MiB); their SHA-256 is filled in.
        """
    )
    @Option(help: "The applicant's reporter code.") var reporter: String
    @Option(help: "The call for applications (its year).") var callYear: Int32
    @Option(help: "The applicant's reference for the application, e.g. GD-2026-BIO.") var ref: String
    @Option(help: "new (a new national base) or upgrade (a provincial base of the applicant).") var kind: String = "new"
    @Option(help: "For an upgrade: the provincial base's id.") var upgrades: String = ""
    @Option(help: "The base's city (GB/T 2260 code).") var city: String?
    @Option(help: "An attachment, NAME=PATH (repeatable).") var attach: [String] = []
    @Option(help: "Write here instead of standard output.") var output: String?

    func run() async throws {
      guard kind == "new" || kind == "upgrade" else { throw ValidationError("--kind: new or upgrade") }
      var submission = ApplicationTemplate.sample(
        reporterCode: reporter, callYear: callYear, applicationRef: ref,
        kind: kind == "upgrade" ? .upgradeToNational : .newNationalBase, upgradesBaseId: upgrades, cityCode: city)
      for item in attach {
        guard let equals = item.firstIndex(of: "=") else { throw ValidationError("--attach: NAME=PATH") }
        let path = String(item[item.index(after: equals)...])
        guard let content = FileManager.default.contents(atPath: path) else { throw ValidationError("--attach: cannot read \(path)") }
        submission.application.attachments.append(
          ApplicationTemplate.attachment(name: String(item[..<equals]), mediaType: "application/octet-stream", content: [UInt8](content)))
      }
      let json = try submission.jsonString(options: ApplicationCommand.jsonOptions)
      if let output {
        try Data((json + "\n").utf8).write(to: URL(fileURLWithPath: output), options: .atomic)
      } else {
        print(json)
      }
    }
  }

  struct Check: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Check an application file with the centre's rules, offline.",
      discussion: """
        Prints every finding (rule, field, message); exit 0 when it would be accepted, 1 when
        it would be refused. The checks that need the registry (an upgraded base's owner and
        level) are left to the centre.
        """
    )
    @Argument(help: "The application file (.json or .pb).") var file: String

    func run() async throws {
      let submission = try ApplicationCommand.read(file, completing: false)
      let findings = ApplicationValidator.validate(submission)
      for finding in findings { print("\(finding.severity.rawValue)  \(finding.ruleCode)  \(finding.message)") }
      let errors = findings.filter { $0.severity == .error }.count
      print("\(file): \(errors) error(s), \(findings.count - errors) warning(s)")
      if errors > 0 { throw ExitCode(1) }
    }
  }

  struct File: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "File an application with the aggregator once, and print the receipt.",
      discussion: """
        Like `hitech submit`: an empty submission_id gets a new one and an empty content hash is
        computed; filing the same file again is answered with the same receipt. Exit status: 0
        stored, 1 refused (every finding printed), 2 not delivered (retry).
        """
    )
    @Argument(help: "The application file (.json or .pb).") var file: String
    @Option(help: "The aggregator's endpoint.") var endpoint: String = "tcp://127.0.0.1:7400"
    @Option(help: "The aggregator's CURVE public key file.") var serverKey: String
    @Option(help: "This node's CURVE secret key file (mode 0600).") var secretKey: String
    @Flag(help: "Check at the centre only; store nothing.") var dryRun = false
    @Option(help: "Deadline in seconds.") var timeout: Double = 10

    func run() async throws {
      let submission = try ApplicationCommand.read(file, completing: true)
      let security = ZeroMQTransport.Security.curveClient(
        keyPair: try CurveKeyFile.readKeyPair(secretKeyPath: secretKey), serverPublicKey: try CurveKeyFile.readPublicKey(serverKey))
      var options = CallOptions.defaults
      options.timeout = .milliseconds(Int64(timeout * 1000))
      let callOptions = options
      let dryRun = self.dryRun
      do {
        try await withGRPCClient(transport: ZeroMQTransport.Client(endpoint: endpoint, security: security)) { grpc in
          let client = Ndrc_Hitech_V1_ApplicationIntake.Client(wrapping: grpc)
          if dryRun {
            let result = try await client.check(submission, options: callOptions)
            print(try result.jsonString(options: ApplicationCommand.jsonOptions))
            if !result.valid { throw ExitCode(1) }
          } else {
            print(try await client.file(submission, options: callOptions).jsonString(options: ApplicationCommand.jsonOptions))
          }
        }
      } catch let error as RPCError {
        print("\(file): \(error.code): \(error.message)")
        let retryable: Set<RPCError.Code> = [.unavailable, .deadlineExceeded, .resourceExhausted]
        throw ExitCode(retryable.contains(error.code) ? 2 : 1)
      }
    }
  }
}
