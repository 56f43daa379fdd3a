import Foundation
import SwapIO
import SwapModels
import SwapTensor
import Testing

/// Access to Tests/SwapModelsTests/Fixtures. The unet/ and vae/ folders are written by
/// tools/reference/make_unet_vae_fixtures.py (torch 2.13.0+cpu, diffusers 0.42.1).
enum ModelFixtures {
    static var root: URL {
        get throws { try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil)) }
    }

    static func path(_ relative: String) throws -> String {
        try root.appendingPathComponent(relative).path
    }

    /// Every tensor of a fixture safetensors file.
    static func tensors(_ relative: String) throws -> [String: Tensor] {
        try SafeTensors.load(path(relative))
    }

    /// The tiny SD1-style (`sd1`) or SD2-style (`sd2`) UNet.
    static func unet(_ name: String) throws -> UNet2DConditionModel {
        try UNet2DConditionModel(directory: path("unet/\(name)"))
    }

    static func vae() throws -> AutoencoderKL {
        try AutoencoderKL(directory: path("vae/model"))
    }

    /// A fresh temporary folder.
    static func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("swapmodels-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }
}

/// Error measures used by the parity tests.
enum Parity {
    /// max |a − b| / max(max |b|, 1e-6): the largest error relative to the reference's scale.
    static func relativeMaxError(_ a: Tensor, _ b: Tensor) throws -> Float {
        try #require(a.shape == b.shape, "shape \(a.shape) vs reference \(b.shape)")
        let x = a.scalars, y = b.scalars
        var worst: Float = 0, scale: Float = 0
        for i in x.indices {
            worst = max(worst, abs(x[i] - y[i]))
            scale = max(scale, abs(y[i]))
        }
        return worst / max(scale, 1e-6)
    }

    /// max |a − b|.
    static func maxAbsError(_ a: Tensor, _ b: Tensor) throws -> Float {
        try #require(a.shape == b.shape, "shape \(a.shape) vs reference \(b.shape)")
        return zip(a.scalars, b.scalars).reduce(0) { max($0, abs($1.0 - $1.1)) }
    }
}
