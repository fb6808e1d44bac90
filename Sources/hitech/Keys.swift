import ArgumentParser
import DaemonSupport
import ZeroMQ

struct Keys: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Manage CURVE key pairs.",
    subcommands: [Generate.self, Public.self]
  )

  struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
      abstract: "Make a new key pair: <name>.key (secret, mode 0600) and <name>.pub (public).",
      discussion: "Give the .pub file to the central operator to register; never copy the .key file off its machine."
    )

    @Option(help: "The key pair's name, e.g. a reporter code (110000) or 'aggregator'.")
    var name: String

    @Option(help: "The folder to write the two files to.")
    var directory: String = "."

    func run() throws {
      let (secretPath, publicPath, pair) = try CurveKeyFile.generate(name: name, in: directory)
      print("secret key: \(secretPath) (mode 0600)")
      print("public key: \(publicPath)")
      print(pair.publicKey.z85)
    }
  }

  struct Public: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print the public key of a secret key file.")

    @Argument(help: "The secret key file.")
    var secretKey: String

    func run() throws {
      print(try CurveKeyFile.readKeyPair(secretKeyPath: secretKey).publicKey.z85)
    }
  }
}
