import Foundation
import SwapIO

// Matches the component loading of diffusers `pipelines/stable_diffusion/pipeline_stable_diffusion.py`
// `StableDiffusionPipeline.from_pretrained` (model_index.json → tokenizer, text_encoder, unet,
// vae, scheduler) and, for single files, `loaders/single_file.py` `from_single_file`
// (`single_file_utils.py` key conversions, kept in CLIPCheckpointKeys, CompVisUNetKeys and
// CompVisVAEKeys).

/// The Stable Diffusion generation a checkpoint belongs to.
public enum StableDiffusionVersion: String, Sendable, Equatable {
    /// SD 1.x: CLIP ViT-L text encoder (quick_gelu), 768-wide cross-attention, conv projections,
    /// tokenizer padding with `<|endoftext|>`.
    case sd1 = "SD 1.x"
    /// SD 2.x: OpenCLIP ViT-H text encoder (gelu, the penultimate layer kept as the last),
    /// 1024-wide cross-attention, linear projections, tokenizer padding with "!".
    case sd2 = "SD 2.x"
}

/// Every model of a Stable Diffusion 1.x / 2.x checkpoint, loaded once: tokenizer, text encoder,
/// UNet, VAE and the scheduler configuration. The pipeline glue (`SwapPipeline`) runs them.
///
/// Load a diffusers folder with ``init(directory:)`` or a CompVis single-file checkpoint with
/// ``init(singleFile:version:predictionType:)``. Every problem is a `ModelLoadError` that names
/// the folder or file and the component.
public struct StableDiffusion: Sendable {
    /// The folder or file it was loaded from.
    public let source: String
    /// SD 1.x or 2.x, detected from the text encoder (activation), tokenizer padding and UNet.
    public let version: StableDiffusionVersion
    public let tokenizer: CLIPTokenizer
    public var textEncoder: CLIPTextModel
    public var unet: UNet2DConditionModel
    public var vae: AutoencoderKL
    /// `scheduler/scheduler_config.json` (nil for single files: use SD's standard values).
    public let schedulerConfigPath: String?
    /// The scheduler class the checkpoint names (`PNDMScheduler`, `DDIMScheduler`, …), if any.
    public let schedulerClassName: String?
    /// `prediction_type` of the scheduler config: "epsilon" (SD 1.x, 2.x-base) or
    /// "v_prediction" (SD 2.x 768-v).
    public let predictionType: String

    /// Pixels per latent cell (8 for SD): 2^(VAE levels − 1).
    public var vaeScaleFactor: Int { vae.config.downsampleFactor }

    /// Assembles loaded models; checks that they fit together (text width = cross-attention
    /// width, VAE latent channels = UNet channels).
    public init(source: String, version: StableDiffusionVersion, tokenizer: CLIPTokenizer, textEncoder: CLIPTextModel,
                unet: UNet2DConditionModel, vae: AutoencoderKL, schedulerConfigPath: String?,
                schedulerClassName: String?, predictionType: String) throws {
        guard textEncoder.config.hiddenSize == unet.config.crossAttentionDim[0] else {
            throw ModelLoadError("\(source): the text encoder's hidden_size \(textEncoder.config.hiddenSize) differs from "
                + "the UNet's cross_attention_dim \(unet.config.crossAttentionDim[0])")
        }
        guard vae.config.latentChannels == unet.config.inChannels, vae.config.latentChannels == unet.config.outChannels else {
            throw ModelLoadError("\(source): the VAE has \(vae.config.latentChannels) latent channels, the UNet "
                + "\(unet.config.inChannels) in / \(unet.config.outChannels) out (inpainting UNets are not supported)")
        }
        guard let maxID = tokenizer.vocabulary.values.max(), maxID < textEncoder.config.vocabSize else {
            throw ModelLoadError("\(source): the tokenizer's ids exceed the text encoder's vocab_size \(textEncoder.config.vocabSize)")
        }
        guard ["epsilon", "v_prediction", "sample"].contains(predictionType) else {
            throw ModelLoadError("\(source): unsupported prediction_type '\(predictionType)'")
        }
        self.source = source
        self.version = version
        self.tokenizer = tokenizer
        self.textEncoder = textEncoder
        self.unet = unet
        self.vae = vae
        self.schedulerConfigPath = schedulerConfigPath
        self.schedulerClassName = schedulerClassName
        self.predictionType = predictionType
    }

    /// Loads a diffusers pipeline folder: `model_index.json`, then `text_encoder/`, `tokenizer/`
    /// (vocab.json, merges.txt, special_tokens_map.json), `unet/`, `vae/` and
    /// `scheduler/scheduler_config.json`.
    public init(directory: String) throws {
        let folder = directory as NSString
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ModelLoadError("\(directory): no such folder")
        }
        let index = try ModelIndex(path: folder.appendingPathComponent("model_index.json"))
        _ = try index.require("text_encoder", classes: ["CLIPTextModel"])
        _ = try index.require("tokenizer", classes: ["CLIPTokenizer", "CLIPTokenizerFast"])
        _ = try index.require("unet", classes: ["UNet2DConditionModel"])
        _ = try index.require("vae", classes: ["AutoencoderKL"])
        guard let schedulerEntry = index.components["scheduler"] else {
            throw ModelLoadError("\(index.path): component 'scheduler' is missing or null")
        }

        func component<T>(_ name: String, _ load: (String) throws -> T) throws -> T {
            let path = folder.appendingPathComponent(name)
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue else {
                throw ModelLoadError("\(path): folder missing (model_index.json lists '\(name)')")
            }
            do { return try load(path) } catch let error as ModelLoadError {
                throw error.message.contains(path) ? error : ModelLoadError("\(name) (\(path)): \(error.message)")
            } catch {
                throw ModelLoadError("\(name) (\(path)): \(error)")
            }
        }

        let textEncoder = try component("text_encoder") { try CLIPTextModel(directory: $0) }
        let version: StableDiffusionVersion = textEncoder.config.hiddenAct == .gelu ? .sd2 : .sd1
        let tokenizer = try component("tokenizer") { try Self.loadTokenizer($0, version: version) }
        let unet = try component("unet") { try UNet2DConditionModel(directory: $0) }
        let vae = try component("vae") { try AutoencoderKL(directory: $0) }
        let schedulerPath = try component("scheduler") { path -> String in
            let file = (path as NSString).appendingPathComponent("scheduler_config.json")
            guard FileManager.default.fileExists(atPath: file) else { throw ModelLoadError("\(file): no such file") }
            return file
        }
        let schedulerJSON = try ModelConfigJSON(path: schedulerPath)
        let prediction = try schedulerJSON.string("prediction_type", default: "epsilon")
        try self.init(source: directory, version: version, tokenizer: tokenizer, textEncoder: textEncoder, unet: unet,
                      vae: vae, schedulerConfigPath: schedulerPath,
                      schedulerClassName: try schedulerJSON.string("_class_name", default: schedulerEntry.className),
                      predictionType: prediction)
    }

    /// A `tokenizer/` folder. `special_tokens_map.json` decides the padding; without it the
    /// version's (SD 1.x pads with `<|endoftext|>`, SD 2.x with "!").
    static func loadTokenizer(_ path: String, version: StableDiffusionVersion) throws -> CLIPTokenizer {
        let folder = path as NSString
        for file in ["vocab.json", "merges.txt"] where !FileManager.default.fileExists(atPath: folder.appendingPathComponent(file)) {
            let hasFast = FileManager.default.fileExists(atPath: folder.appendingPathComponent("tokenizer.json"))
            throw ModelLoadError("\(folder.appendingPathComponent(file)): no such file"
                + (hasFast ? " (tokenizer.json alone is not read; SD repos ship vocab.json and merges.txt)" : ""))
        }
        let hasMap = FileManager.default.fileExists(atPath: folder.appendingPathComponent("special_tokens_map.json"))
        do {
            return try CLIPTokenizer(directory: path, specialTokens: hasMap ? nil : (version == .sd2 ? .sd2 : .sd1))
        } catch let error as CLIPTokenizerError {
            throw ModelLoadError(error.message)
        }
    }

    /// Loads a single-file CompVis/ldm checkpoint (`.safetensors` with `model.diffusion_model.…`,
    /// `first_stage_model.…` and `cond_stage_model.…`), with SD's standard configurations and
    /// the bundled CLIP tokenizer.
    ///
    /// - Parameters:
    ///   - version: nil detects it from the text-encoder layout and the cross-attention width.
    ///   - predictionType: not recorded in the file (it comes from the training YAML): SD 2.x
    ///     768-v checkpoints need "v_prediction"; the default is "epsilon".
    public init(singleFile path: String, version: StableDiffusionVersion? = nil, predictionType: String = "epsilon") throws {
        let file: SafeTensorsFile
        do { file = try SafeTensorsFile(path: path) } catch { throw ModelLoadError("\(error)") }
        let probe = "model.diffusion_model.input_blocks.1.1.transformer_blocks.0.attn2.to_k.weight"
        guard file.contains(probe), let width = (try? file.info(probe))?.shape.last else {
            throw ModelLoadError("\(path): not a CompVis Stable Diffusion checkpoint (no '\(probe)')")
        }
        let detected: StableDiffusionVersion = width == 1024 ? .sd2 : .sd1
        let chosen = version ?? detected
        func part<T>(_ name: String, _ load: () throws -> T) throws -> T {
            do { return try load() } catch { throw ModelLoadError("\(path) (\(name)): \(error)") }
        }
        let textEncoder = try part("text encoder") { try CLIPTextModel(singleFile: path, config: chosen == .sd2 ? .sd2 : .sd1) }
        let unet = try part("unet") { try UNet2DConditionModel(singleFile: path, config: .stableDiffusion(chosen)) }
        let vae = try part("vae") { try AutoencoderKL(singleFile: path) }
        let tokenizer = try part("tokenizer") {
            do { return try CLIPTokenizer.bundled(chosen == .sd2 ? .sd2 : .sd1) } catch let e as CLIPTokenizerError {
                throw ModelLoadError(e.message)
            }
        }
        try self.init(source: path, version: chosen, tokenizer: tokenizer, textEncoder: textEncoder, unet: unet, vae: vae,
                      schedulerConfigPath: nil, schedulerClassName: nil, predictionType: predictionType)
    }
}

extension UNetConfig {
    /// The UNet of SD 1.x (`.sd1`: 768-wide cross-attention, 8 heads everywhere, conv
    /// projections) or SD 2.x (`.sd2`: 1024-wide, heads 5/10/20/20, linear projections).
    public static func stableDiffusion(_ version: StableDiffusionVersion) -> UNetConfig {
        var c = UNetConfig()
        c.crossAttentionDim = Array(repeating: version == .sd2 ? 1024 : 768, count: 4)
        c.attentionHeads = version == .sd2 ? [5, 10, 20, 20] : [8, 8, 8, 8]
        c.useLinearProjection = version == .sd2
        return c
    }
}
