import Foundation
import SwapRuntime

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Wall time and peak resident memory of one statement, for `:time`.
///
/// On Linux the peak is reset before the statement by writing `5` to `/proc/self/clear_refs`,
/// so `VmHWM` afterwards is the statement's own peak. Where that is not possible the process's
/// lifetime peak (`getrusage`) is reported and `peakIsPerStatement` is false.
public struct ResourceUsage: Sendable {
    public var wallSeconds: Double
    public var peakResidentBytes: Int
    public var peakIsPerStatement: Bool

    /// Runs `body` and measures it.
    public static func measure(_ body: () -> Void) -> ResourceUsage {
        let reset = resetPeak()
        let start = DispatchTime.now().uptimeNanoseconds
        body()
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        if reset, let hwm = ProcessMemory.statusValue("VmHWM:").map({ $0 * 1024 }) {
            return ResourceUsage(wallSeconds: seconds, peakResidentBytes: hwm, peakIsPerStatement: true)
        }
        return ResourceUsage(wallSeconds: seconds, peakResidentBytes: lifetimePeak(), peakIsPerStatement: false)
    }

    /// `wall 1.234 s, peak RSS 812.5 MiB`.
    public var formatted: String {
        let time = wallSeconds < 1 ? String(format: "%.1f ms", wallSeconds * 1e3) : String(format: "%.3f s", wallSeconds)
        let mib = String(format: "%.1f MiB", Double(peakResidentBytes) / 1_048_576)
        return "wall \(time), peak RSS \(mib)" + (peakIsPerStatement ? "" : " (process lifetime)")
    }

    private static func resetPeak() -> Bool {
        #if os(Linux)
        let fd = open("/proc/self/clear_refs", O_WRONLY)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        return write(fd, "5", 1) == 1
        #else
        return false
        #endif
    }

    private static func lifetimePeak() -> Int {
        var usage = rusage()
        #if os(Linux)
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
        return Int(usage.ru_maxrss) * 1024
        #else
        getrusage(RUSAGE_SELF, &usage)
        return Int(usage.ru_maxrss)
        #endif
    }
}
