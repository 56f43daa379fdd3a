import Testing
@testable import SwapTensor
@Test func moduleLoads() { #expect(true) }
