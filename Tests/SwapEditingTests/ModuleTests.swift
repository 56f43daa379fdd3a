import Testing
@testable import SwapEditing
