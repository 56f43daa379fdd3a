import Foundation

/// The process's memory figures from `/proc/self/status` (Linux); used by `bench` and `:time`.
public enum ProcessMemory {
    /// VmHWM, the peak resident set size, in bytes (0 where /proc is unavailable).
    public static func peakResidentBytes() -> Int { statusField("VmHWM:") }

    /// VmRSS, the current resident set size, in bytes.
    public static func residentBytes() -> Int { statusField("VmRSS:") }

    /// The number of threads in the process.
    public static func threadCount() -> Int { statusValue("Threads:") ?? 0 }

    /// A "Name:   N kB" line of /proc/self/status, in bytes.
    public static func statusField(_ name: String) -> Int { (statusValue(name) ?? 0) * 1024 }

    /// The first number on the line of /proc/self/status starting with `name`.
    public static func statusValue(_ name: String) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix(name) {
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if fields.count >= 2 { return Int(fields[1]) }
        }
        return nil
    }
}
