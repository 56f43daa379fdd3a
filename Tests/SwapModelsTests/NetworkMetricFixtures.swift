import Foundation
import Testing
import SwapIO
import SwapTensor
@testable import SwapModels

// Fixture access for the CLIP vision / CLIPScore / LPIPS tests. Everything under
// Fixtures/networks/ is made by tools/reference/make_network_metric_fixtures.py
// (torch 2.13.0+cpu, transformers 5.23.0 CLIPModel and CLIPImageProcessorPil; LPIPS written
// there in plain torch.nn).

enum NetworkFixtures {
    /// Path of a file or folder under Fixtures/networks/.
    static func path(_ relative: String) throws -> String {
        let base = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil))
        let url = base.appendingPathComponent("networks").appendingPathComponent(relative)
        #expect(FileManager.default.fileExists(atPath: url.path), "missing fixture \(relative)")
        return url.path
    }

    static let reference: [String: Tensor] = {
        guard let p = try? path("network_reference.safetensors"), let t = try? SafeTensors.load(p) else { return [:] }
        return t
    }()

    static func tensor(_ name: String) throws -> Tensor {
        try #require(reference[name], "network_reference.safetensors has no \(name)")
    }

    /// The tiny CLIPModel (loaded once).
    static let clip = Result { try CLIPModel(directory: try path("clip_tiny")) }
}
