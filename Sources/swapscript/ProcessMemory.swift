import Foundation

/// The process's memory figures from `/proc/self/status` (Linux).
enum ProcessMemory {
    /// VmHWM, the peak resident set size, in bytes (0 where /proc is unavailable).
    static func peakResidentBytes() -> Int { statusField("VmHWM:") }

    /// VmRSS, the current resident set size, in bytes.
    static func residentBytes() -> Int { statusField("VmRSS:") }

    /// A "Name:   N kB" line of /proc/self/status, in bytes.
    static func statusField(_ name: String) -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix(name) {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if fields.count >= 2, let kb = Int(fields[1]) { return kb * 1024 }
        }
        return 0
    }
}
