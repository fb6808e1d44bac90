import Aggregator
import Coordinator
import FuzzSupport
import ProvinceNode

/// The configuration loaders of the three daemons (`load(file:environment:)`), on one JSON
/// file and a set of `HITECH_*` environment overrides.
///
/// Input: the file's bytes, then optionally a NUL byte and environment lines `NAME=VALUE`.
///
/// Properties: nothing traps; a configuration that loads passes its own validation again.
@main
enum ConfigurationHarness {
  static let file = ScratchFile(name: "config.json")

  static func main() {
    FuzzMain.run("fuzz-configuration") { input in
      let split = input.firstIndex(of: 0) ?? input.endIndex
      file.write(Array(input[..<split]))
      var environment: [String: String] = [:]
      for line in input[split...].dropFirst().split(separator: UInt8(ascii: "\n")) {
        let text = String(decoding: line, as: UTF8.self)
        guard let equals = text.firstIndex(of: "=") else { continue }
        environment[String(text[..<equals])] = String(text[text.index(after: equals)...])
      }
      let path = file.path
      let environmentCopy = environment
      fuzzBlocking {
        if let aggregator = try? await AggregatorConfiguration.load(file: path, environment: environmentCopy) {
          _ = aggregator.dashboardAddress
        }
        if let node = try? await NodeConfiguration.load(file: path, environment: environmentCopy) {
          fuzzRequire((try? node.validate()) != nil, "a loaded node configuration fails its own validation")
        }
        if let coordinator = try? await CoordinatorConfiguration.load(file: path, environment: environmentCopy) {
          fuzzRequire((try? coordinator.validate()) != nil, "a loaded coordinator configuration fails its own validation")
          _ = coordinator.effectiveControlEndpoint
        }
      }
    }
  }
}
