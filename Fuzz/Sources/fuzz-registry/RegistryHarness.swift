import Aggregator
import AggregatorStore
import FuzzSupport

/// The registry import (`hitech registry import FILE`): every input is read as `.csv`, `.json`
/// (proto3 JSON Registry) and `.txtpb` (text format Registry), through the same file reader the
/// command uses.
///
/// Properties: nothing traps; a file that imports without problems has bases with distinct,
/// non-empty ids, a name, a reporter code of six ASCII digits and fields that fit their kind, and
/// reporters with six-digit codes and a name.
@main
enum RegistryHarness {
  static let files = ["csv", "json", "txtpb"].map { ScratchFile(name: "registry.\($0)") }

  static func main() {
    FuzzMain.run("fuzz-registry") { input in
      for file in files {
        file.write(input)
        if let bases = try? RegistryFile.readBases(path: file.path) {
          fuzzRequire(Set(bases.map(\.baseId)).count == bases.count, "imported bases share an id")
          for base in bases {
            fuzzRequire(!base.baseId.isEmpty && !base.nameZh.isEmpty, "imported base without id or name: \(base)")
            fuzzRequire(isCode(base.reporterCode), "imported base with reporter code \(base.reporterCode)")
            switch base.kind {
            case .specialized: fuzzRequire(base.fields.count == 1, "imported specialized base with fields \(base.fields)")
            case .comprehensive: fuzzRequire(Set(base.fields).count >= 2, "imported comprehensive base with fields \(base.fields)")
            }
          }
        }
        if let reporters = try? RegistryFile.readReporters(path: file.path) {
          for reporter in reporters {
            fuzzRequire(isCode(reporter.code) && !reporter.nameZh.isEmpty, "imported reporter \(reporter)")
          }
        }
      }
    }
  }

  /// Six ASCII digits (a GB/T 2260 code).
  static func isCode(_ text: String) -> Bool {
    text.utf8.count == 6 && text.utf8.allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
  }
}
