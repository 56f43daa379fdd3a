import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The `swapscript` binary the end-to-end tests drive: next to the test bundle
/// (`.build/<triple>/release/swapscript`, built first because the test target depends on the
/// executable target), or `$SWAPSCRIPT_BINARY`.
enum SwapscriptBinary {
    static let path: String? = {
        var candidates: [String] = []
        if let explicit = ProcessInfo.processInfo.environment["SWAPSCRIPT_BINARY"] { candidates.append(explicit) }
        var folder = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        if !FileManager.default.fileExists(atPath: "/proc/self/exe") {
            folder = Bundle.main.bundleURL.deletingLastPathComponent()
        }
        // The bundle may be a folder (`X.xctest/...`): walk up a few levels.
        for _ in 0..<4 {
            candidates.append(folder.appendingPathComponent("swapscript").path)
            folder = folder.deletingLastPathComponent()
        }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()
}

/// A child process on a pseudo-terminal (`forkpty`: its own session, the terminal as its
/// controlling terminal, so Ctrl-C typed as `\u{3}` becomes SIGINT as in a real terminal).
/// Every wait has a deadline; the child is killed when the object goes away.
final class PseudoTerminalProcess {
    let pid: pid_t
    let master: Int32
    private(set) var output: [UInt8] = []
    private var exitStatus: Int32?

    /// Starts `executable` with `arguments` in `directory`, with exactly `environment`.
    init(executable: String, arguments: [String], environment: [String: String], directory: String) throws {
        // Everything the child needs is prepared before forking: after fork only exec-safe calls.
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        let dir = strdup(directory), path = strdup(executable)
        defer { (argv + envp + [dir, path]).forEach { free($0) } }
        guard let dir, let path else { throw POSIXError(.ENOMEM) }
        var window = winsize(ws_row: 40, ws_col: 120, ws_xpixel: 0, ws_ypixel: 0)
        var masterFD: Int32 = -1
        let child = forkpty(&masterFD, nil, nil, &window)
        if child < 0 { throw POSIXError(.init(rawValue: errno) ?? .EIO) }
        if child == 0 {
            _ = chdir(dir)
            execve(path, argv, envp)
            _exit(127)
        }
        pid = child
        master = masterFD
    }

    deinit {
        if exitStatus == nil {
            kill(pid, SIGKILL)
            var status: Int32 = 0
            waitpid(pid, &status, 0)
        }
        close(master)
    }

    /// Output so far as text (escape sequences included).
    var text: String { String(decoding: output, as: UTF8.self) }

    /// Types `text` into the terminal.
    func send(_ text: String) {
        let bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { write(master, $0.baseAddress, $0.count) }
            if n <= 0 { if errno == EINTR { continue }; return }
            offset += n
        }
    }

    /// Reads whatever arrives within `seconds`.
    func drain(_ seconds: Double) { _ = waitFor(seconds: seconds) { _ in false } }

    /// Waits until the output from `start` on contains `needle`; false after `seconds`.
    @discardableResult
    func waitFor(_ needle: String, from start: Int = 0, seconds: Double = 60) -> Bool {
        let target = Array(needle.utf8)
        return waitFor(seconds: seconds) { output in
            output.count >= start && Self.contains(output[start...], target)
        }
    }

    /// Polls the terminal until `done(output)` or the deadline.
    private func waitFor(seconds: Double, _ done: ([UInt8]) -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            if done(output) { return true }
            let left = deadline.timeIntervalSinceNow
            if left <= 0 { return false }
            var pfd = pollfd(fd: master, events: Int16(POLLIN), revents: 0)
            let ready = poll(&pfd, 1, Int32(min(left, 0.2) * 1000) + 1)
            if ready > 0 {
                var chunk = [UInt8](repeating: 0, count: 4096)
                let n = chunk.withUnsafeMutableBytes { read(master, $0.baseAddress, $0.count) }
                if n > 0 {
                    output += chunk[..<n]
                } else if n < 0 && errno == EINTR {
                    continue
                } else {
                    // EIO: the child closed the terminal (exited).
                    return done(output)
                }
            } else if ready < 0 && errno != EINTR {
                return done(output)
            }
        }
    }

    /// Waits for the child to exit (reading its output meanwhile); kills it after `seconds`.
    /// Returns the exit status, or nil when it had to be killed.
    func waitForExit(seconds: Double = 30) -> Int32? {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            var status: Int32 = 0
            if waitpid(pid, &status, WNOHANG) == pid {
                exitStatus = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
                return exitStatus
            }
            drain(0.1)
        }
        kill(pid, SIGKILL)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        exitStatus = -1
        return nil
    }

    private static func contains(_ haystack: ArraySlice<UInt8>, _ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty else { return true }
        guard haystack.count >= needle.count else { return false }
        var i = haystack.startIndex
        while i <= haystack.endIndex - needle.count {
            if haystack[i] == needle[0], haystack[i..<(i + needle.count)].elementsEqual(needle) { return true }
            i += 1
        }
        return false
    }
}
