import Foundation
import SwapModels

/// The default model committed with SwapScript: a tiny Stable Diffusion (CLIP-style text
/// encoder, UNet, VAE in the diffusers layout) trained on ShapesWorld by `swapscript train`
/// (tools/train-default-model.sh). It lives in SwapWorld's resources, so it is found from any
/// working directory.
public enum DefaultModel {
    /// The name `load_model` accepts for it.
    public static let name = "default"

    /// The diffusers folder of the committed weights, if the resource bundle holds one.
    public static var directory: String? {
        guard let url = Bundle.module.url(forResource: "default-model", withExtension: nil, subdirectory: "Resources")
                ?? Bundle.module.url(forResource: "default-model", withExtension: nil) else { return nil }
        let index = url.appendingPathComponent("model_index.json").path
        return FileManager.default.fileExists(atPath: index) ? url.path : nil
    }

    /// Loads the committed default model.
    public static func load() throws -> StableDiffusion {
        guard let directory else {
            throw ModelLoadError("the default model is missing from SwapWorld's resources (Resources/default-model/model_index.json)")
        }
        return try StableDiffusion(directory: directory)
    }
}
