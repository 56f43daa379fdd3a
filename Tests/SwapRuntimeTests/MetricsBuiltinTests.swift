import Foundation
import Testing
@testable import SwapRuntime

/// The files `write_jsonl` and `write_csv` write (the values are in Scripts/metrics).
@Suite struct MetricsBuiltinTests {
    @Test func jsonLinesAppendAndCSVQuoting() throws {
        let h = Harness().run("""
            write_jsonl("r.jsonl", [{method: "dds", psnr: 24.5, n: 3, ok: true, bad: psnr(zeros([4, 4]), zeros([4, 4]))}, {method: "sds", note: nil}])
            write_jsonl("r.jsonl", {method: "cds \\"x\\"", k: [1, 2], t: zeros([2])}, append: true)
            write_jsonl("fresh.jsonl", {a: 1})
            write_jsonl("fresh.jsonl", {a: 2})
            write_csv("r.csv", [{method: "dds", psnr: 24.5}, {method: "a,b", extra: "say \\"hi\\""}])
            """)
        #expect(h.status == .ok, "\(h.errors)")
        let out = h.folder + "/out/"
        let jsonl = try String(contentsOfFile: out + "r.jsonl", encoding: .utf8)
        #expect(jsonl == """
            {"method":"dds","psnr":24.5,"n":3,"ok":true,"bad":null}
            {"method":"sds","note":null}
            {"method":"cds \\"x\\"","k":[1,2],"t":[0,0]}

            """)
        for line in jsonl.split(separator: "\n") {
            #expect(try JSONSerialization.jsonObject(with: Data(line.utf8)) is [String: Any])
        }
        #expect(try String(contentsOfFile: out + "fresh.jsonl", encoding: .utf8) == "{\"a\":2}\n")
        #expect(try String(contentsOfFile: out + "r.csv", encoding: .utf8) == """
            method,psnr,extra
            dds,24.5,
            "a,b",,"say ""hi\"\"\"

            """)
    }

    @Test func errorsNameTheBuiltinAndTheProblem() {
        let cases: [(String, String)] = [
            ("ssim(zeros([3, 16, 16]), zeros([3, 8, 8]))", "ssim: the images differ in size"),
            ("ssim(zeros([8, 8]), zeros([8, 8]))", "too small for the 11x11 window"),
            ("psnr(zeros([4, 4]), zeros([4, 4]), data_range: 0)", "psnr: data_range must be positive"),
            ("mse(zeros([2, 3, 4, 4]), zeros([2, 3, 4, 4]))", "mse: expected an image tensor"),
            ("bg_metrics(zeros([3, 16, 16]), zeros([3, 16, 16]), [0, 0, 16, 16])", "covers the whole"),
            ("bg_metrics(zeros([3, 16, 16]), zeros([3, 16, 16]), [0, 0, 4, 4], protocol: \"crop\")", "protocol must be \"outside\" or \"zero_fill\""),
            ("s = world_scene(seed: 7); fg_accuracy(s.image, s.objects[0].box, \"purple unicorn\")", "\"unicorn\" in concept \"purple unicorn\" is not a ShapesWorld"),
            ("fg_accuracy(zeros([3, 32, 32]), [0, 0, 4, 4], \"cross\")", "fg_accuracy: expected a 64x64 RGB image"),
            ("write_csv(\"bad.csv\", [{image: world_scene(seed: 1).image}])", "field 'image' is a image"),
            ("write_jsonl(\"bad.jsonl\", [1, 2])", "each row must be a record"),
        ]
        for (source, message) in cases {
            let h = Harness().run(source)
            #expect(h.status != .ok, "\(source)")
            #expect(h.errors.contains { $0.contains(message) }, "\(source): \(h.errors)")
        }
    }
}
