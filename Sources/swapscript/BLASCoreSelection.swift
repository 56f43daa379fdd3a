import Foundation

/// Picks OpenBLAS's kernel family for CPUs its dynamic dispatch does not know.
///
/// OpenBLAS 0.3.21 (Debian 12) reads `OPENBLAS_CORETYPE` once, when the library loads, and
/// falls back to its SSE3 "Prescott" kernels on newer Xeons (e.g. CPU model 207): sgemm then
/// runs at about 60% of the AVX-512 kernels' speed. Before any BLAS call, `swapscript`
/// checks the CPU flags and, if the variable is unset, re-executes itself with it set.
enum BLASCoreSelection {
    static func reexecIfNeeded() {
        let environment = ProcessInfo.processInfo.environment
        guard environment["OPENBLAS_CORETYPE"] == nil, environment["SWAPSCRIPT_BLAS_REEXEC"] == nil,
              let core = preferredCore() else { return }
        setenv("OPENBLAS_CORETYPE", core, 1)
        setenv("SWAPSCRIPT_BLAS_REEXEC", "1", 1)
        let arguments = CommandLine.arguments.map { strdup($0) } + [nil]
        execv("/proc/self/exe", arguments)
        // execv only returns on failure: carry on with OpenBLAS's own choice.
    }

    /// "SkylakeX" with AVX-512 (F, BW, DQ, VL), "Haswell" with AVX2 and FMA, else nil.
    static func preferredCore() -> String? {
        guard let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
              let flagsLine = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return nil }
        let flags = Set(flagsLine.split(separator: " ").map(String.init))
        if ["avx512f", "avx512bw", "avx512dq", "avx512vl"].allSatisfy(flags.contains) { return "SkylakeX" }
        if ["avx2", "fma"].allSatisfy(flags.contains) { return "Haswell" }
        return nil
    }
}
