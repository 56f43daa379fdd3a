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
/// In `.script` mode (`swapscript run`) the first Ctrl-C sets the interpreter's
/// `CancellationFlag`; the script stops at the next statement, loop iteration or call with exit
/// class `interrupted` (130), and bindings made before the interrupted statement stay intact.
/// A second Ctrl-C before that ends the process at once with status 130.
///
/// In `.repl` mode Ctrl-C only ever sets the flag: the running statement stops and the REPL
/// returns to its prompt, and at the prompt the line reader sees the flag and clears the line.
/// Only a third Ctrl-C while the flag is still set (a statement stuck in native code that
/// never reaches a safe point) ends the process with status 130.
public enum InterruptHandler {
    /// What Ctrl-C does beyond setting the flag.
    public enum Mode: Sendable {
        /// A second press while the first is pending exits with status 130.
        case script
        /// Presses never exit, except the third one while the flag is still set.
        case repl
    }

    nonisolated(unsafe) private static var source: DispatchSourceSignal?
    nonisolated(unsafe) private static var count = 0

    /// Installs the handler for `flag` (replacing an earlier installation).
    public static func install(cancelling flag: CancellationFlag, mode: Mode = .script) {
        source?.cancel()
        count = 0
        signal(SIGINT, SIG_IGN)
        let s = DispatchSource.makeSignalSource(signal: SIGINT, queue: DispatchQueue(label: "swapscript.interrupt"))
        s.setEventHandler {
            switch mode {
            case .script:
                count += 1
                if count > 1 { exit(ExitClass.interrupted.rawValue) }
            case .repl:
                count = flag.isCancelled ? count + 1 : 1
                if count >= 3 { exit(ExitClass.interrupted.rawValue) }
            }
            flag.cancel()
        }
        s.resume()
        source = s
    }
}
