import Foundation
import SwapIO
import SwapLang
import SwapModels
import SwapTensor
import SwapWorld

// The "model" family: load a Stable Diffusion checkpoint and call its parts one at a time, as
// the diffusers pipeline does (matches `pipeline_stable_diffusion.py`: encode_prompt, the UNet
// call, `vae.encode(...).latent_dist` × scaling_factor, `vae.decode(latent / scaling_factor)`).

extension BuiltinRegistry {
    /// Registers `load_model`, `tokenize`, `encode_text`, `unet`, `vae_encode`, `vae_decode`.
    func registerModelBuiltins(_ ws: Workspace) {
        register("load_model", family: "model", params: [BuiltinParam("path", .string, doc: "a diffusers folder, a single-file .safetensors checkpoint, or \"default\" (the embedded ShapesWorld model)")],
                 doc: "Loads a Stable Diffusion 1.x/2.x checkpoint: a diffusers folder (model_index.json, tokenizer, text_encoder, unet, vae, scheduler), a CompVis single-file .safetensors, or \"default\": the tiny ShapesWorld model embedded in SwapScript (found from any folder).",
                 example: "m = load_model(\"models/sd15\")") { args, _ in
            let name = try args.string("path")
            let path = ws.resolveInput(name)
            if name == DefaultModel.name, !FileManager.default.fileExists(atPath: path) {
                return try Convert.inference("load_model") { .host(ModelValue(try DefaultModel.load())) }
            }
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
                throw HostError("load_model: no such file or folder: \(path)")
            }
            return try Convert.inference("load_model") {
                .host(ModelValue(isFolder.boolValue ? try StableDiffusion(directory: path) : try StableDiffusion(singleFile: path)))
            }
        }
        register("tokenize", family: "model", params: [BuiltinParam("model", .host(["model"])), BuiltinParam("text", .string)],
                 doc: "The model's CLIP tokens for a prompt: 77 ids (BOS, tokens, EOS, padding) with `.ids`, `.pieces` and `.word(\"w\")` giving a word's token indices.",
                 example: "t = tokenize(m, \"a red circle\"); t.word(\"circle\")") { args, _ in
            .host(TokensValue(text: try args.string("text"), tokenizer: try Convert.model(args["model"], "tokenize").tokenizer))
        }
        register("encode_text", family: "model", params: [BuiltinParam("model", .host(["model"])), BuiltinParam("text", .string)],
                 doc: "The text encoder's prompt embedding, shape [1, 77, D] (the last hidden state after the final layer norm, as diffusers' encode_prompt).",
                 example: "cond = encode_text(m, \"a red circle\")") { args, _ in
            let m = try Convert.model(args["model"], "encode_text")
            let ids = m.tokenizer.encode(try args.string("text"))
            return .tensor(try Convert.inference("encode_text") { try m.textEncoder.promptEmbeddings([ids]) })
        }
        register("unet", family: "model",
                 params: [BuiltinParam("model", .host(["model"])), BuiltinParam("latent", .host(["tensor"]), doc: "[B, 4, h, w]"),
                          BuiltinParam("t", .number, doc: "the timestep (0–999)"),
                          BuiltinParam("cond", .host(["tensor"]), doc: "[B, 77, D] text embeddings (a batch of 1 is repeated)")],
                 doc: "One UNet call: the noise prediction (or v for v-prediction models) for `latent` at timestep `t` given text embeddings `cond`.",
                 example: "eps = unet(m, latent, 981, cond)") { args, _ in
            let m = try Convert.model(args["model"], "unet")
            let latent = try Convert.tensor(args["latent"], "unet", "latent")
            var cond = try Convert.tensor(args["cond"], "unet", "cond")
            let t = try args.number("t")
            guard t.isFinite, t >= 0, t < 1000 else { throw HostError("unet: t must be a timestep in 0..<1000, got \(t)") }
            guard latent.rank == 4 else { throw HostError("unet: latent has shape \(formatShape(latent.shape)), expected [B, \(m.unet.config.inChannels), h, w]") }
            guard cond.rank == 3 else { throw HostError("unet: cond has shape \(formatShape(cond.shape)), expected [B, 77, \(m.textEncoder.config.hiddenSize)]") }
            if cond.shape[0] == 1 && latent.shape[0] > 1 {
                cond = try Convert.inference("unet") { try cond.broadcast(to: [latent.shape[0]] + Array(cond.shape.dropFirst())) }
            }
            guard cond.shape[0] == latent.shape[0] else {
                throw HostError("unet: latent batch \(latent.shape[0]) differs from cond batch \(cond.shape[0])")
            }
            return .tensor(try Convert.inference("unet") { try m.unet(latent, timestep: Float(t), encoderHiddenStates: cond) })
        }
        register("vae_encode", family: "model",
                 params: [BuiltinParam("model", .host(["model"])), BuiltinParam("image", .host(["image", "tensor"]), doc: "an image, or a [1, 3, H, W] tensor in [-1, 1]"),
                          BuiltinParam("sample", .bool, default: .bool(false), doc: "draw from the posterior instead of taking its mean"),
                          BuiltinParam("seed", default: .nil, doc: "seed for the posterior sample (default: the session stream)")],
                 doc: "The VAE latent of an image, scaled by the model's scaling factor (diffusers: `vae.encode(x).latent_dist.mean * scaling_factor`).",
                 example: "z = vae_encode(m, load_image(\"cat.png\"))") { args, _ in
            let m = try Convert.model(args["model"], "vae_encode")
            var pixels: Tensor
            switch args["image"] {
            case .host(let h as ImageValue): pixels = h.image.rgb.tensor(range: .minusOneToOne)
            default: pixels = try Convert.tensor(args["image"], "vae_encode", "image")
            }
            let factor = m.vaeScaleFactor
            guard pixels.rank == 4, pixels.shape[1] == 3, pixels.shape[2] % factor == 0, pixels.shape[3] % factor == 0 else {
                throw HostError("vae_encode: image has shape \(formatShape(pixels.shape)), expected [B, 3, H, W] with H and W multiples of \(factor)")
            }
            let sample: Bool
            if case .bool(true) = args["sample"] { sample = true } else { sample = false }
            var noise: Tensor? = nil
            if sample {
                let latentShape = [pixels.shape[0], m.vae.config.latentChannels, pixels.shape[2] / factor, pixels.shape[3] / factor]
                if args.isNil("seed") { noise = ws.generator.randn(latentShape) } else {
                    noise = Tensor.randn(latentShape, seed: UInt64(try args.int("seed")))
                }
            }
            return .tensor(try Convert.inference("vae_encode") {
                let posterior = try m.vae.encode(pixels)
                let latent = try noise.map { try posterior.sample(noise: $0) } ?? posterior.mean
                return latent * m.vae.scalingFactor
            })
        }
        register("vae_decode", family: "model",
                 params: [BuiltinParam("model", .host(["model"])), BuiltinParam("latent", .host(["tensor"]), doc: "[1, 4, h, w], scaled as vae_encode gives it")],
                 doc: "Decodes a latent to an image (diffusers: `vae.decode(latent / scaling_factor)`, mapped from [-1, 1]); the image is saved under the output folder.",
                 example: "img = vae_decode(m, z)") { args, ctx in
            let m = try Convert.model(args["model"], "vae_decode")
            let latent = try Convert.tensor(args["latent"], "vae_decode", "latent")
            guard latent.rank == 4, latent.shape[0] == 1, latent.shape[1] == m.vae.config.latentChannels else {
                throw HostError("vae_decode: latent has shape \(formatShape(latent.shape)), expected [1, \(m.vae.config.latentChannels), h, w]")
            }
            let decoded = try Convert.inference("vae_decode") { try m.vae.decode(latent * (1 / m.vae.scalingFactor)) }
            let image = try Convert.inference("vae_decode") { try Image(tensor: decoded, range: .minusOneToOne) }
            return try ws.publish(image, builtin: "vae_decode", context: ctx)
        }
    }
}
