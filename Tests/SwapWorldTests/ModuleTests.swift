import Testing
@testable import SwapWorld
