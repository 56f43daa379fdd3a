import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An inline-image protocol a terminal understands.
public enum GraphicsProtocol: String, Sendable, CaseIterable {
    case kitty, iterm2, sixel, none
}

/// Decides whether and how the REPL shows images inline.
///
/// Cheap checks first: `SWAPSCRIPT_IMAGES=kitty|iterm2|sixel|none` overrides everything;
/// standard output not a terminal, `TERM=dumb` or tmux (`TMUX`, which drops the sequences
/// without passthrough) → none; `KITTY_WINDOW_ID`, `TERM=xterm-kitty` or
/// `TERM_PROGRAM=ghostty` → kitty; `TERM_PROGRAM=iTerm.app` or `WezTerm` → iTerm2. Otherwise
/// one probe: a kitty `a=q` query followed by DA1 (`ESC [ c`), answered within 150 ms. A kitty
/// reply means kitty; a DA1 reply listing attribute 4 means sixel; anything else, none.
public enum TerminalGraphics {
    /// The protocol from the environment alone, or nil when only a probe can tell.
    public static func fromEnvironment(_ env: [String: String], stdoutIsTerminal: Bool) -> GraphicsProtocol? {
        if let forced = env["SWAPSCRIPT_IMAGES"]?.lowercased(), let proto = GraphicsProtocol(rawValue: forced) {
            return proto
        }
        let term = env["TERM"] ?? ""
        if !stdoutIsTerminal || term == "dumb" || term.isEmpty || env["TMUX"] != nil { return GraphicsProtocol.none }
        if env["KITTY_WINDOW_ID"] != nil || term == "xterm-kitty" || env["TERM_PROGRAM"] == "ghostty" { return .kitty }
        if env["TERM_PROGRAM"] == "iTerm.app" || env["TERM_PROGRAM"] == "WezTerm" { return .iterm2 }
        return nil
    }

    /// The protocol a terminal's reply to `probeQuery` announces.
    public static func interpret(reply: [UInt8]) -> GraphicsProtocol {
        let text = String(decoding: reply, as: UTF8.self)
        if text.contains("\u{1B}_Gi=31;OK") { return .kitty }
        // DA1: ESC [ ? Pn ; Pn ; ... c
        if let start = text.range(of: "\u{1B}[?"), let end = text[start.upperBound...].firstIndex(of: "c") {
            let params = text[start.upperBound..<end].split(separator: ";")
            if params.dropFirst().contains("4") { return .sixel }
        }
        return GraphicsProtocol.none
    }

    /// The kitty query (a 1x1 RGB image, `a=q`) followed by DA1, which every terminal answers.
    public static let probeQuery = "\u{1B}_Gi=31,s=1,v=1,a=q,t=d,f=24;AAAA\u{1B}\\\u{1B}[c"

    /// Environment first, then (when both standard input and output are terminals) the probe.
    public static func detect(environment env: [String: String] = ProcessInfo.processInfo.environment) -> GraphicsProtocol {
        let stdoutIsTerminal = isatty(STDOUT_FILENO) == 1
        if let proto = fromEnvironment(env, stdoutIsTerminal: stdoutIsTerminal) { return proto }
        guard isatty(STDIN_FILENO) == 1 else { return GraphicsProtocol.none }
        return interpret(reply: probe(timeoutMilliseconds: 150))
    }

    /// Sends `probeQuery` and collects the reply in raw mode until the DA1 answer ends (`c`)
    /// or the timeout passes. The terminal mode is restored before returning.
    static func probe(timeoutMilliseconds: Int) -> [UInt8] {
        var saved = termios()
        guard tcgetattr(STDIN_FILENO, &saved) == 0 else { return [] }
        var raw = saved
        raw.c_lflag &= ~tcflag_t(ICANON | ECHO)
        guard tcsetattr(STDIN_FILENO, TCSANOW, &raw) == 0 else { return [] }
        defer { tcsetattr(STDIN_FILENO, TCSANOW, &saved) }
        let query = Array(probeQuery.utf8)
        _ = query.withUnsafeBytes { write(STDOUT_FILENO, $0.baseAddress, $0.count) }

        var reply: [UInt8] = []
        let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(timeoutMilliseconds) * 1_000_000
        while true {
            let now = DispatchTime.now().uptimeNanoseconds
            guard now < deadline else { break }
            var pfd = pollfd(fd: STDIN_FILENO, events: Int16(POLLIN), revents: 0)
            let ready = poll(&pfd, 1, Int32((deadline - now) / 1_000_000) + 1)
            guard ready > 0 else { if ready < 0 && errno == EINTR { continue }; break }
            var byte: UInt8 = 0
            guard read(STDIN_FILENO, &byte, 1) == 1 else { break }
            reply.append(byte)
            if byte == UInt8(ascii: "c"), String(decoding: reply, as: UTF8.self).contains("\u{1B}[?") { break }
        }
        return reply
    }
}
