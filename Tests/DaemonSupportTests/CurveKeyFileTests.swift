import DaemonSupport
import Foundation
import Testing
import ZeroMQ

@Suite("CURVE key files")
struct CurveKeyFileTests {
  let directory = FileManager.default.temporaryDirectory.appendingPathComponent("keys-\(UUID().uuidString)").path

  @Test("generated keys read back, with the secret file at mode 0600")
  func roundTrip() throws {
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let (secretPath, publicPath, pair) = try CurveKeyFile.generate(name: "110000", in: directory)
    let mode = try FileManager.default.attributesOfItem(atPath: secretPath)[.posixPermissions] as? Int
    #expect(mode == 0o600)
    #expect(try CurveKeyFile.readKeyPair(secretKeyPath: secretPath) == pair)
    #expect(try CurveKeyFile.readPublicKey(publicPath) == pair.publicKey)
  }

  @Test("a secret key file others can read is refused, naming the fix")
  func looseModeRefused() throws {
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let (secretPath, _, _) = try CurveKeyFile.generate(name: "440300", in: directory)
    try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: secretPath)
    do {
      _ = try CurveKeyFile.readKeyPair(secretKeyPath: secretPath)
      Issue.record("a 0644 secret key file was accepted")
    } catch let problem as CurveKeyFile.Problem {
      #expect(problem.description.contains("chmod 600"))
    }
  }

  @Test("existing keys are never overwritten, and garbage is not a key")
  func noOverwriteAndGarbage() throws {
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let (_, publicPath, _) = try CurveKeyFile.generate(name: "660000", in: directory)
    #expect(throws: CurveKeyFile.Problem.self) { try CurveKeyFile.generate(name: "660000", in: directory) }
    try "not a key\n".write(toFile: publicPath, atomically: true, encoding: .utf8)
    #expect(throws: CurveKeyFile.Problem.self) { try CurveKeyFile.readPublicKey(publicPath) }
  }
}
