import Foundation

#if FUZZING
import CLibFuzzer
#endif

/// The entry point every harness shares.
///
/// Built by `Fuzz/run.sh` (`-sanitize=fuzzer,address -D FUZZING`) a harness is a libFuzzer
/// binary: its arguments are libFuzzer's (`-runs=N`, corpus folders, `-dict=…`). Built by an
/// ordinary `swift build` it replays: every file named, and every file in every folder named
/// (recursively, skipping names that start with "." and `README.md`), goes through the harness
/// once, in name order. A crash is the failure; exit status 0 means every input passed.
public enum FuzzMain {
  nonisolated(unsafe) static var harness: ([UInt8]) -> Void = { _ in }

  public static func run(_ name: String, _ body: @escaping ([UInt8]) -> Void) -> Never {
    harness = body
    #if FUZZING
    var argc = CommandLine.argc
    var argv = CommandLine.unsafeArgv
    let status = withUnsafeMutablePointer(to: &argv) { pointer in
      pointer.withMemoryRebound(to: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?.self, capacity: 1) { argv in
        LLVMFuzzerRunDriver(&argc, argv) { data, size in fuzzOneInput(data, size) }
      }
    }
    exit(status)
    #else
    let paths = Array(CommandLine.arguments.dropFirst())
    guard !paths.isEmpty, !paths.contains(where: { $0.hasPrefix("-") }) else {
      FileHandle.standardError.write(Data("""
        usage: \(name) FILE|FOLDER...
        Replays each input through the \(name) harness (an ordinary build; Fuzz/run.sh builds the
        libFuzzer binary). Exits 0 when every input passed; a failing input stops the process.

        """.utf8))
      exit(2)
    }
    var count = 0
    for path in paths {
      for file in inputs(at: path) {
        guard let data = FileManager.default.contents(atPath: file) else {
          FileHandle.standardError.write(Data("\(name): cannot read \(file)\n".utf8))
          exit(1)
        }
        print("\(name): \(file)")
        body([UInt8](data))
        count += 1
      }
    }
    print("\(name): \(count) input(s) passed")
    exit(0)
    #endif
  }

  /// The file at `path`, or the files under the folder at `path`, sorted.
  static func inputs(at path: String) -> [String] {
    var isFolder: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
      FileHandle.standardError.write(Data("no such file or folder: \(path)\n".utf8))
      exit(1)
    }
    guard isFolder.boolValue else { return [path] }
    let names = (FileManager.default.subpaths(atPath: path) ?? []).sorted()
    return names.compactMap { name in
      let last = (name as NSString).lastPathComponent
      guard !last.hasPrefix("."), last != "README.md", !name.split(separator: "/").contains(where: { $0.hasPrefix(".") }) else { return nil }
      let full = (path as NSString).appendingPathComponent(name)
      var folder: ObjCBool = false
      FileManager.default.fileExists(atPath: full, isDirectory: &folder)
      return folder.boolValue ? nil : full
    }
  }
}

#if FUZZING
/// libFuzzer's callback. Linking `-sanitize=fuzzer` brings libFuzzer's own `main`, which refers
/// to it (that `main` is not the one that runs: see FuzzMain).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  FuzzMain.harness(Array(UnsafeBufferPointer(start: data, count: size)))
  return 0
}
#endif
