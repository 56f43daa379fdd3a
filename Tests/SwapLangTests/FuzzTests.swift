import Foundation
import Testing
@testable import SwapLang

/// SplitMix64: a small seeded generator so fuzz runs are reproducible.
struct SeededRandom: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

private let fragments = [
    "x", "y", "xs", "r", "f", "v", "=", "+", "-", "*", "/", "%", "**", "(", ")", "[", "]", "{", "}",
    ",", ".", ":", ";", "..", "..<", "...", "\n", " ", "0", "1", "-1", "2.5", "1e308", "\"s\"", "'q",
    "fn", "if", "else", "while", "for", "in", "return", "break", "continue", "and", "or", "not",
    "true", "false", "nil", "print", "len", "range", "vec", "help", "?", "##", "#", "==", "<", ">=",
    "append", "keys", "str", "type", "f(", "x[", "a:", "steps:", "fn(a) {", "return f(", "}",
]

private func randomScript(_ rng: inout SeededRandom) -> String {
    let n = Int.random(in: 1...40, using: &rng)
    return (0..<n).map { _ in fragments.randomElement(using: &rng) ?? "" }.joined(separator: " ")
}

private func mutate(_ text: String, _ rng: inout SeededRandom) -> String {
    var chars = Array(text)
    for _ in 0..<Int.random(in: 1...4, using: &rng) where !chars.isEmpty {
        let i = Int.random(in: 0..<chars.count, using: &rng)
        switch Int.random(in: 0..<4, using: &rng) {
        case 0: chars.remove(at: i)
        case 1: chars.insert(Array("(){}[]\"'=+-*:;.,#\n0a")[Int.random(in: 0..<20, using: &rng)], at: i)
        case 2: chars[i] = chars[Int.random(in: 0..<chars.count, using: &rng)]
        default:
            let j = Int.random(in: i..<chars.count, using: &rng)
            chars.insert(contentsOf: chars[i...j], at: j)
        }
    }
    return String(chars)
}

private func exercise(_ text: String) -> ExitClass {
    _ = Interpreter.isIncomplete(text)
    let interp = Interpreter(registry: testRegistry())
    interp.output = { _ in }
    interp.stepLimit = 5_000
    interp.maxCallDepth = 200
    _ = interp.check(source: text, file: "fuzz")
    return interp.run(source: text, file: "fuzz").status
}

@Test func fuzzRandomTokenSoup() {
    var rng = SeededRandom(state: 0x5EED)
    var statuses: [ExitClass: Int] = [:]
    for _ in 0..<3000 {
        statuses[exercise(randomScript(&rng)), default: 0] += 1
    }
    // Most soups fail to parse, but every class of outcome is handled without crashing.
    #expect((statuses[.scriptError] ?? 0) > 0)
    #expect(statuses.values.reduce(0, +) == 3000)
}

@Test func fuzzMutatedScripts() throws {
    var rng = SeededRandom(state: 42)
    let sources = try ScriptCatalog.all.map {
        try String(contentsOf: ScriptCatalog.directory.appendingPathComponent($0), encoding: .utf8)
    }
    #expect(!sources.isEmpty)
    var ran = 0
    for _ in 0..<2000 {
        guard let base = sources.randomElement(using: &rng) else { break }
        let status = exercise(mutate(base, &rng))
        if status == .ok || status == .runtimeFailure { ran += 1 }
    }
    // Some mutants still parse and run, so the interpreter itself is exercised.
    #expect(ran > 100)
}

@Test func fuzzHostileShapes() {
    let hostile = [
        String(repeating: "[", count: 5000), String(repeating: "-", count: 5000) + "1",
        String(repeating: "fn(){", count: 400), String(repeating: "not ", count: 3000) + "true",
        "xs = [1]\nwhile true { xs = xs + xs }", "r = 0..<9007199254740992\nprint(len(r))\nr[::1]",
        "x = (0..100000000000)[-1]", "print(1e308 * 10, -1e308 * 10, 0 * (1e308 * 10))",
        "print(9007199254740993 % 2)", "s = \"a\"\nwhile true { s = s + s }", "range(1e300)",
        "x = [1,2,3]\nx[1e300]", "round(1, digits: 1e10)",
    ]
    for text in hostile { _ = exercise(text) }
    #expect(exercise("x = (0..100000000000)[-1]") == .ok)
}
