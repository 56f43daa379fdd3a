import Dispatch
import Foundation
import SwapLang

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Turns Ctrl-C (SIGINT) into a cancellation request for a running script.
///
/// The first Ctrl-C sets the interpreter's `CancellationFlag`; the script stops at the next
/// statement, loop iteration or call with exit class `interrupted` (130), and bindings made
/// before the interrupted statement stay intact. A second Ctrl-C before that ends the process
/// at once with status 130.
public enum InterruptHandler {
    nonisolated(unsafe) private static var source: DispatchSourceSignal?
    nonisolated(unsafe) private static var count = 0

    /// Installs the handler for `flag` (replacing an earlier installation).
    public static func install(cancelling flag: CancellationFlag) {
        source?.cancel()
        count = 0
        signal(SIGINT, SIG_IGN)
        let s = DispatchSource.makeSignalSource(signal: SIGINT, queue: DispatchQueue(label: "swapscript.interrupt"))
        s.setEventHandler {
            count += 1
            if count > 1 { exit(ExitClass.interrupted.rawValue) }
            flag.cancel()
        }
        s.resume()
        source = s
    }
}
