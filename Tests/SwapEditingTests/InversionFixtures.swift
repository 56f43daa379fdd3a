import Foundation
import SwapIO
import SwapTensor
import Testing
@testable import SwapModels

/// The references of Fixtures/p2p_alignment.json and Fixtures/inversion_reference.safetensors
/// (tools/reference/make_p2p_fixtures.py), and the tiny SD1 pipeline they were made with
/// (``ProcessFixtures/model``).
enum InversionFixtures {
    static let fixtures = Result { try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil)) }

    /// The tiny SD1 model (shared with the other editing tests).
    static var model: Result<StableDiffusion, Error> { ProcessFixtures.model }

    static let inversion = Result { try SafeTensors.load(try fixtures.get().appendingPathComponent("inversion_reference.safetensors").path) }

    static func reference(_ name: String) throws -> Tensor { try #require(try inversion.get()[name], "no \(name)") }

    static let alignment = Result { () throws -> [String: Any] in
        let data = try Data(contentsOf: try fixtures.get().appendingPathComponent("p2p_alignment.json"))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// The prompt, step count and guidance the reference script used.
    static let prompt = "a photo of a cat"
    static let steps = 10
    static let guidance: Float = 7.5

    static func maxAbsError(_ a: Tensor, _ b: Tensor) throws -> Float {
        try #require(a.shape == b.shape, "shape \(a.shape) vs reference \(b.shape)")
        return zip(a.scalars, b.scalars).reduce(0) { max($0, abs($1.0 - $1.1)) }
    }

    static func mse(_ a: Tensor, _ b: Tensor) throws -> Float { try (a - b).squared().mean().item }
}
