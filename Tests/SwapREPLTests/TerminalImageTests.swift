import Foundation
import SwapIO
import Testing
@testable import SwapREPL

@Suite struct TerminalImageTests {
    @Test func detectionFromTheEnvironment() {
        func detect(_ env: [String: String], tty: Bool = true) -> GraphicsProtocol? {
            TerminalGraphics.fromEnvironment(env, stdoutIsTerminal: tty)
        }
        #expect(detect(["TERM": "xterm-kitty"]) == .kitty)
        #expect(detect(["TERM": "xterm-256color", "KITTY_WINDOW_ID": "1"]) == .kitty)
        #expect(detect(["TERM": "xterm-256color", "TERM_PROGRAM": "iTerm.app"]) == .iterm2)
        #expect(detect(["TERM": "xterm-256color", "TERM_PROGRAM": "WezTerm"]) == .iterm2)
        #expect(detect(["TERM": "xterm-kitty"], tty: false) == GraphicsProtocol.none)
        #expect(detect(["TERM": "dumb", "KITTY_WINDOW_ID": "1"]) == GraphicsProtocol.none)
        #expect(detect(["TERM": "xterm-kitty", "TMUX": "/tmp/t"]) == GraphicsProtocol.none)
        #expect(detect(["TERM": "xterm", "SWAPSCRIPT_IMAGES": "sixel"], tty: false) == .sixel)
        #expect(detect(["TERM": "xterm-256color"]) == nil)   // only a probe can tell
    }

    @Test func probeRepliesAreInterpreted() {
        #expect(TerminalGraphics.interpret(reply: Array("\u{1B}_Gi=31;OK\u{1B}\\\u{1B}[?62;22c".utf8)) == .kitty)
        #expect(TerminalGraphics.interpret(reply: Array("\u{1B}[?62;4;6;22c".utf8)) == .sixel)
        #expect(TerminalGraphics.interpret(reply: Array("\u{1B}[?64;1;2;6;9;15;22c".utf8)) == GraphicsProtocol.none)
        #expect(TerminalGraphics.interpret(reply: Array("\u{1B}[?4c".utf8)) == GraphicsProtocol.none)   // 4 as the class, not an attribute
        #expect(TerminalGraphics.interpret(reply: []) == GraphicsProtocol.none)
    }

    @Test func kittyChunksThePNG() throws {
        let png = Data((0..<10_000).map { UInt8($0 % 251) })
        let out = InlineImageEncoder.kitty(png: png)
        let sequences = out.components(separatedBy: "\u{1B}_G").dropFirst()
        let payloads = sequences.map { seq -> (String, String) in
            let body = seq.components(separatedBy: "\u{1B}\\")[0]
            let parts = body.split(separator: ";", maxSplits: 1).map(String.init)
            return (parts[0], parts[1])
        }
        #expect(payloads.count == 4)   // 13336 base64 bytes in chunks of 4096
        #expect(payloads[0].0 == "a=T,f=100,q=2,m=1")
        #expect(payloads[1].0 == "m=1" && payloads[2].0 == "m=1" && payloads[3].0 == "m=0")
        #expect(payloads.dropLast().allSatisfy { $0.1.count == 4096 })
        #expect(Data(base64Encoded: payloads.map(\.1).joined()) == png)
        #expect(out.hasSuffix("\u{1B}\\\n"))
    }

    @Test func iTerm2InlineSequence() {
        let png = Data([1, 2, 3, 4, 5])
        let out = InlineImageEncoder.iTerm2(png: png, name: "a.png")
        #expect(out == "\u{1B}]1337;File=name=YS5wbmc=;size=5;inline=1;preserveAspectRatio=1:AQIDBAU=\u{07}\n")
    }

    @Test func sixelEncodesPaletteBandsAndRuns() throws {
        // 3 wide, 7 high: red everywhere except a white pixel at (1, 6).
        var pixels = [Float]()
        for y in 0..<7 { for x in 0..<3 { pixels += (x == 1 && y == 6) ? [1, 1, 1] : [1, 0, 0] } }
        let image = try Image(width: 3, height: 7, channels: 3, pixels: pixels)
        let out = InlineImageEncoder.sixel(image: image)
        #expect(out.hasPrefix("\u{1B}Pq\"1;1;3;7#0;2;0;0;0"))
        #expect(out.contains("#180;2;100;0;0"))   // red is 5*36
        #expect(out.hasSuffix("\u{1B}\\\n"))
        let body = out.components(separatedBy: "#215;2;100;100;100")[1]
        // Band 1: six red rows in three columns ('~' = all six bits). Band 2: row 0 only.
        #expect(body.hasPrefix("#180~~~-#180@?@$#215?@?-"))
        // Long runs are compressed.
        let wide = try Image(width: 40, height: 1, channels: 3, fill: [0, 0, 1])
        #expect(InlineImageEncoder.sixel(image: wide).contains("#5!40@-"))
    }

    @Test func encodeReadsOnlyPNGFiles() throws {
        let folder = try temporaryFolder(files: [])
        let image = try Image(width: 2, height: 2, channels: 3, fill: [0.5])
        try image.save(folder + "/a.png")
        FileManager.default.createFile(atPath: folder + "/b.png", contents: Data("not a png".utf8))
        #expect(InlineImageEncoder.encode(fileAt: folder + "/a.png", for: .kitty)?.hasPrefix("\u{1B}_Ga=T") == true)
        #expect(InlineImageEncoder.encode(fileAt: folder + "/a.png", for: .sixel)?.hasPrefix("\u{1B}Pq") == true)
        #expect(InlineImageEncoder.encode(fileAt: folder + "/a.png", for: .none) == nil)
        #expect(InlineImageEncoder.encode(fileAt: folder + "/b.png", for: .iterm2) == nil)
        #expect(InlineImageEncoder.encode(fileAt: folder + "/missing.png", for: .kitty) == nil)
    }
}
