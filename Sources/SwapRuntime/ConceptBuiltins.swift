import Foundation
import SwapEditing
import SwapIO
import SwapLang
import SwapModels
import SwapTensor

// The "concepts" family: customised concepts on a model. DreamBooth checkpoints are ordinary
// models (load_model); textual-inversion embeddings load onto a model (diffusers
// `load_textual_inversion`) or are learned here with the autograd (diffusers
// examples/textual_inversion/textual_inversion.py).

extension BuiltinRegistry {
    /// Registers `load_textual_inversion`, `token_embedding`, `learn_token` and `load_lora`.
    func registerConceptBuiltins(_ ws: Workspace) {
        register("load_lora", family: "concepts",
                 params: [BuiltinParam("model", .host(["model"])), BuiltinParam("path", .string, doc: "a LoRA .safetensors file (diffusers/PEFT or kohya keys)"),
                          BuiltinParam("scale", .number, default: .number(1), doc: "the LoRA scale (diffusers' set_adapters weight / fuse_lora lora_scale)")],
                 doc: "A copy of the model with LoRA / LoCon weights merged into any Linear or Conv2d of the UNet and the text encoder (W + scale·alpha/rank·up·down; a conv's down factor has the layer's kernel, its up factor is 1x1); kohya (lora_unet_*, lora_te_*) and diffusers/PEFT (unet.*, text_encoder.*) keys. Other kinds (LoHa, LoKr, DoRA) are reported by key.",
                 example: "m2 = load_lora(m, \"loras/my_style.safetensors\", scale: 0.8)") { args, _ in
            let m = try Convert.model(args["model"], "load_lora")
            let path = ws.resolveInput(try args.string("path"))
            let scale = try args.number("scale")
            guard scale.isFinite else { throw HostError("load_lora: scale must be finite") }
            return try Convert.inference("load_lora") { .host(ModelValue(try m.addingLoRA(contentsOf: path, scale: Float(scale)))) }
        }
        register("load_textual_inversion", family: "concepts",
                 params: [BuiltinParam("model", .host(["model"])), BuiltinParam("path", .string, doc: "a .safetensors, .bin or .pt embedding"),
                          BuiltinParam("token", default: .nil, doc: "the token to use (required for A1111 files; default: the file's)")],
                 doc: "A copy of the model that knows a textual-inversion token: learned_embeds.safetensors / learned_embeds.bin ({token: vector}) or an A1111 embedding (.pt with string_to_param, token from its name; or emb_params). Torch pickles are read with a restricted reader that only accepts tensors and dicts and executes nothing. A multi-vector token stands for all its vectors in prompts.",
                 example: "m2 = load_textual_inversion(m, \"cat_toy/learned_embeds.safetensors\"); encode_text(m2, \"a <cat-toy> on a table\")") { args, _ in
            let m = try Convert.model(args["model"], "load_textual_inversion")
            let path = ws.resolveInput(try args.string("path"))
            let token = args.isNil("token") ? nil : try args.string("token")
            return try Convert.inference("load_textual_inversion") {
                .host(ModelValue(try m.addingTextualInversion(TextualInversionEmbedding(contentsOf: path, token: token))))
            }
        }
        register("token_embedding", family: "concepts",
                 params: [BuiltinParam("model", .host(["model"])), BuiltinParam("token", .string)],
                 doc: "The text encoder's embedding vectors of a token, [n, D] (one row per token the text stands for). Saved as {token: vectors} it is a learned_embeds.safetensors file.",
                 example: "save_tensors({\"<cat-toy>\": token_embedding(m2, \"<cat-toy>\")}, \"learned_embeds.safetensors\")") { args, _ in
            let m = try Convert.model(args["model"], "token_embedding")
            let token = try args.string("token")
            let ids = m.tokenizer.encode(token).filter { $0 != m.tokenizer.bosID && $0 != m.tokenizer.eosID && $0 != m.tokenizer.padID }
            guard !ids.isEmpty else { throw HostError("token_embedding: \"\(token)\" has no tokens") }
            return .host(TensorValue(try Convert.inference("token_embedding") { try m.textEncoder.tokenEmbedding.indexSelect(axis: 0, ids) }))
        }
        register("learn_token", family: "concepts",
                 params: [BuiltinParam("model", .host(["model"])), BuiltinParam("images", .list, doc: "training images (sides multiples of the VAE factor)"),
                          BuiltinParam("token", .string, doc: "the new token, e.g. \"<cat-toy>\""),
                          BuiltinParam("init", .string, doc: "a one-token word whose embedding starts the new one, e.g. \"toy\""),
                          BuiltinParam("steps", .integer, default: .number(3000), doc: "optimisation steps (one image each)"),
                          BuiltinParam("lr", .number, default: .number(0.002), doc: "AdamW learning rate (weight decay 1e-2)"),
                          BuiltinParam("seed", .integer, default: .number(0), doc: "seed of the timesteps and noise")],
                 doc: "Textual inversion: learns the embedding of a new token from a few images with the denoising loss (prompt templates \"a photo of a {}\", …; t uniform; AdamW on that row only) and returns a copy of the model that knows it.",
                 example: "m2 = learn_token(m, [img1, img2], token: \"<my-cup>\", init: \"cup\", steps: 500)") { args, ctx in
            let m = try Convert.model(args["model"], "learn_token")
            guard case .list(let list) = args["images"], !list.items.isEmpty else { throw HostError("learn_token: images must be a non-empty list of images") }
            let latents = try list.items.map { try DistillationSupport.latent($0, model: m, "learn_token") }
            var settings = TokenLearningSettings()
            settings.steps = try args.int("steps")
            settings.learningRate = Float(try args.number("lr"))
            let seed = try args.int("seed")
            guard seed >= 0 else { throw HostError("learn_token: seed must be ≥ 0") }
            settings.seed = UInt64(seed)
            let process = try Convert.inference("learn_token") {
                try TokenLearning(model: m, latents: latents, token: try args.string("token"), initializer: try args.string("init"), settings: settings)
            }
            try ProcessBuiltins.drive("learn_token") { try process.run(ProcessBuiltins.context(ws, ctx)) }
            return .host(ModelValue(try Convert.inference("learn_token") { try process.learnedModel() }))
        }
    }
}
