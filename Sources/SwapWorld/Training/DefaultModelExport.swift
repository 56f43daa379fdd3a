import Foundation
import SwapIO
import SwapModels
import SwapTensor

/// Writes a trained diffusion-stage run as a diffusers pipeline folder (model_index.json,
/// scheduler/, tokenizer/, text_encoder/, unet/, vae/) that `StableDiffusion(directory:)` loads
/// unchanged. Weights are the moving averages, stored as float16.
public enum DefaultModelExport {
    /// Exports `trainer` (a diffusion-stage trainer) to `folder`; with `decoder` (a decoder-stage
    /// trainer started from the same VAE), the VAE decoder is its fine-tuned one.
    public static func export(_ trainer: Trainer, decoder: Trainer? = nil, to folder: String) throws {
        guard trainer.stage == .diffusion else { throw TrainingError("export: needs a diffusion-stage checkpoint") }
        if let decoder {
            guard decoder.stage == .decoder else { throw TrainingError("export: the decoder checkpoint is a \(decoder.stage.rawValue) checkpoint") }
            let encoderMatches = trainer.frozenVAE.allSatisfy { name, value in
                name.hasPrefix("decoder.") || name.hasPrefix("post_quant_conv.") || decoder.frozenVAE[name]?.scalars == value.scalars
            }
            guard encoderMatches else { throw TrainingError("export: the decoder stage started from another VAE than the diffusion stage") }
        }
        let vaeWeights = trainer.frozenVAE.merging(decoder?.averagedParameters ?? [:]) { $1 }
        let r = trainer.recipe
        let fm = FileManager.default
        for sub in ["scheduler", "tokenizer", "text_encoder", "unet", "vae"] {
            try fm.createDirectory(atPath: folder + "/" + sub, withIntermediateDirectories: true)
        }
        let averaged = trainer.averagedParameters
        func part(_ prefix: String) -> [(String, Tensor)] {
            averaged.filter { $0.key.hasPrefix(prefix) }.map { (String($0.key.dropFirst(prefix.count)), $0.value) }
        }
        let metadata = ["format": "pt", "producer": "swapscript train (tools/train-default-model.sh)",
                        "step": String(trainer.step), "seed": String(trainer.seed)]
        try SafeTensors.write(part("text_encoder."), metadata: metadata, to: folder + "/text_encoder/model.safetensors", dtype: .f16)
        try SafeTensors.write(part("unet."), metadata: metadata, to: folder + "/unet/diffusion_pytorch_model.safetensors", dtype: .f16)
        try SafeTensors.write(vaeWeights.map { ($0.key, $0.value) }, metadata: metadata,
                              to: folder + "/vae/diffusion_pytorch_model.safetensors", dtype: .f16)
        try trainer.tokenizerFiles.write(to: folder + "/tokenizer")

        try writeJSON(modelIndex, to: folder + "/model_index.json")
        try writeJSON(schedulerConfig, to: folder + "/scheduler/scheduler_config.json")
        try writeJSON(textConfig(r.text, tokenizer: trainer.tokenizer), to: folder + "/text_encoder/config.json")
        try writeJSON(unetConfig(r.unet), to: folder + "/unet/config.json")
        try writeJSON(vaeConfig(r.vae, scalingFactor: trainer.scalingFactor, imageSize: r.imageSize), to: folder + "/vae/config.json")
    }

    static let modelIndex: [String: Any] = [
        "_class_name": "StableDiffusionPipeline", "_diffusers_version": "0.30.0",
        "feature_extractor": [NSNull(), NSNull()], "safety_checker": [NSNull(), NSNull()],
        "requires_safety_checker": false,
        "scheduler": ["diffusers", "DDIMScheduler"], "text_encoder": ["transformers", "CLIPTextModel"],
        "tokenizer": ["transformers", "CLIPTokenizer"], "unet": ["diffusers", "UNet2DConditionModel"],
        "vae": ["diffusers", "AutoencoderKL"],
    ]

    static let schedulerConfig: [String: Any] = [
        "_class_name": "DDIMScheduler", "_diffusers_version": "0.30.0",
        "beta_start": 0.00085, "beta_end": 0.012, "beta_schedule": "scaled_linear", "num_train_timesteps": 1000,
        "clip_sample": false, "set_alpha_to_one": false, "steps_offset": 1, "prediction_type": "epsilon",
        "timestep_spacing": "leading", "trained_betas": NSNull(),
    ]

    static func textConfig(_ c: CLIPTextConfig, tokenizer: CLIPTokenizer) -> [String: Any] {
        ["_name_or_path": "swapscript-default", "architectures": ["CLIPTextModel"], "model_type": "clip_text_model",
         "vocab_size": c.vocabSize, "hidden_size": c.hiddenSize, "intermediate_size": c.intermediateSize,
         "projection_dim": c.projectionDim, "num_hidden_layers": c.numHiddenLayers,
         "num_attention_heads": c.numAttentionHeads, "max_position_embeddings": c.maxPositionEmbeddings,
         "hidden_act": c.hiddenAct.rawValue, "layer_norm_eps": Double(c.layerNormEps),
         "bos_token_id": tokenizer.bosID, "eos_token_id": tokenizer.eosID, "pad_token_id": tokenizer.padID,
         "torch_dtype": "float16"]
    }

    static func unetConfig(_ c: UNetConfig) -> [String: Any] {
        ["_class_name": "UNet2DConditionModel", "_diffusers_version": "0.30.0",
         "in_channels": c.inChannels, "out_channels": c.outChannels, "sample_size": c.sampleSize,
         "flip_sin_to_cos": c.flipSinToCos, "freq_shift": Double(c.freqShift),
         "down_block_types": c.downBlockTypes, "mid_block_type": c.midBlockType, "up_block_types": c.upBlockTypes,
         "block_out_channels": c.blockOutChannels, "layers_per_block": c.layersPerBlock,
         "downsample_padding": c.downsamplePadding, "mid_block_scale_factor": Double(c.midBlockScaleFactor),
         "norm_num_groups": c.normNumGroups, "norm_eps": Double(c.normEps),
         "cross_attention_dim": c.crossAttentionDim, "transformer_layers_per_block": c.transformerLayersPerBlock,
         "attention_head_dim": c.attentionHeads, "use_linear_projection": c.useLinearProjection,
         "upcast_attention": false, "act_fn": "silu", "center_input_sample": false]
    }

    static func vaeConfig(_ c: VAEConfig, scalingFactor: Float, imageSize: Int) -> [String: Any] {
        ["_class_name": "AutoencoderKL", "_diffusers_version": "0.30.0",
         "in_channels": c.inChannels, "out_channels": c.outChannels, "latent_channels": c.latentChannels,
         "block_out_channels": c.blockOutChannels, "layers_per_block": c.layersPerBlock,
         "down_block_types": Array(repeating: "DownEncoderBlock2D", count: c.blockOutChannels.count),
         "up_block_types": Array(repeating: "UpDecoderBlock2D", count: c.blockOutChannels.count),
         "norm_num_groups": c.normNumGroups, "act_fn": "silu", "sample_size": imageSize,
         "scaling_factor": Double(scalingFactor), "mid_block_add_attention": c.midBlockAddAttention]
    }

    static func writeJSON(_ object: [String: Any], to path: String) throws {
        let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        try AtomicFile.write(data + Data("\n".utf8), to: path)
    }
}
