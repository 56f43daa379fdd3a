import Testing
@testable import SwapIO
@Test func moduleLoads() { #expect(true) }
