import Testing
@testable import SwapREPL

@Suite struct MetaCommandTests {
    @Test func fullNamesParse() throws {
        #expect(try MetaCommand.parse(":help") == .help(nil))
        #expect(try MetaCommand.parse(":help randn") == .help("randn"))
        #expect(try MetaCommand.parse(":vars") == .vars)
        #expect(try MetaCommand.parse(":time x = 1 + 2") == .time("x = 1 + 2"))
        #expect(try MetaCommand.parse(":load a.swapscript") == .load(path: "a.swapscript", selection: .all))
        #expect(try MetaCommand.parse(":load a.swapscript cell 2") == .load(path: "a.swapscript", selection: .cell(2)))
        #expect(try MetaCommand.parse(":load a.swapscript line 7") == .load(path: "a.swapscript", selection: .line(7)))
        #expect(try MetaCommand.parse(":record s.swapscript") == .record(path: "s.swapscript"))
        #expect(try MetaCommand.parse(":record off") == .record(path: nil))
        #expect(try MetaCommand.parse(":save s.swapscript") == .save(path: "s.swapscript"))
        #expect(try MetaCommand.parse(":export r.html") == .export(path: "r.html"))
        #expect(try MetaCommand.parse(":reset") == .reset)
        #expect(try MetaCommand.parse("  :quit  ") == .quit)
    }

    @Test func uniquePrefixesAbbreviate() throws {
        #expect(try MetaCommand.parse(":h") == .help(nil))
        #expect(try MetaCommand.parse(":q") == .quit)
        #expect(try MetaCommand.parse(":ti 1") == .time("1"))
        #expect(try MetaCommand.parse(":rec out.swapscript") == .record(path: "out.swapscript"))
        #expect(try MetaCommand.parse(":res") == .reset)
        #expect(try MetaCommand.parse(":e r.html") == .export(path: "r.html"))
        #expect(try MetaCommand.parse(":V") == .vars)
    }

    @Test func ambiguousAndUnknownNamesAreErrors() {
        #expect(throws: MetaCommand.ParseError.self) { try MetaCommand.parse(":re") }
        do {
            _ = try MetaCommand.parse(":re")
        } catch let error as MetaCommand.ParseError {
            #expect(error.message.contains(":record") && error.message.contains(":reset"))
        } catch {
            Issue.record("unexpected error \(error)")
        }
        #expect(throws: MetaCommand.ParseError.self) { try MetaCommand.parse(":frobnicate") }
        #expect(throws: MetaCommand.ParseError.self) { try MetaCommand.parse(":") }
        #expect(throws: MetaCommand.ParseError.self) { try MetaCommand.parse("vars") }
    }

    @Test func badArgumentsAreErrors() {
        for line in [":vars x", ":quit now", ":time", ":save", ":save a b", ":export", ":load",
                     ":load f cell", ":load f cell x", ":load f line 0", ":load f page 2", ":help a b"] {
            #expect(throws: MetaCommand.ParseError.self, "\(line)") { try MetaCommand.parse(line) }
        }
    }

    @Test func commandLinesAreRecognised() {
        #expect(MetaCommand.isCommand(":vars"))
        #expect(MetaCommand.isCommand("   :q"))
        #expect(!MetaCommand.isCommand("x = [1:2]"))
        #expect(!MetaCommand.isCommand("?randn"))
    }
}
