import Foundation

/// Stops the process when a property every input must keep does not hold: libFuzzer records
/// the input as a crash, the replayer fails. The message says which property.
public func fuzzRequire(_ condition: Bool, _ message: @autoclosure () -> String, file: StaticString = #fileID, line: UInt = #line) {
  guard !condition else { return }
  FileHandle.standardError.write(Data("\(file):\(line): property violated: \(message())\n".utf8))
  abort()
}

/// Runs `body` to completion from synchronous code (the harness is called synchronously by
/// libFuzzer; the code under test may be `async`).
public func fuzzBlocking<T: Sendable>(_ body: @escaping @Sendable () async -> T) -> T {
  let box = ResultBox<T>()
  let done = DispatchSemaphore(value: 0)
  Task {
    box.value = await body()
    done.signal()
  }
  done.wait()
  return box.value!
}

private final class ResultBox<T>: @unchecked Sendable {
  var value: T?
}

/// A scratch file on a memory file system, rewritten for each input, for code that reads paths.
public struct ScratchFile: Sendable {
  public let path: String

  /// `/dev/shm/hitech-fuzz-<pid>/<name>` (or under the temporary folder without /dev/shm).
  public init(name: String) {
    let root = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
    let folder = (root as NSString).appendingPathComponent("hitech-fuzz-\(getpid())")
    try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    path = (folder as NSString).appendingPathComponent(name)
  }

  public func write(_ bytes: [UInt8]) {
    let ok = FileManager.default.createFile(atPath: path, contents: Data(bytes))
    fuzzRequire(ok, "cannot write the scratch file \(path)")
  }
}
