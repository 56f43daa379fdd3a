import Testing
@testable import SwapLang
@Test func moduleLoads() { #expect(true) }
