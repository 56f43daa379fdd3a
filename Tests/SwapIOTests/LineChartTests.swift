import Testing
@testable import SwapIO

/// The line chart and rectangle drawing used by `plot` and `draw_box`.
struct LineChartTests {
    @Test func chartDrawsEachSeriesInItsColourInsideTheFrame() throws {
        let chart = LineChart(series: [("a", [0, 1, 2, 3]), ("b", [3, .nan, 1, 0])], title: "t", width: 200, height: 120).render()
        #expect(chart.width == 200 && chart.height == 120 && chart.channels == 3)
        func count(_ colour: [Float]) -> Int {
            var n = 0
            for y in 0..<chart.height { for x in 0..<chart.width where chart.pixel(x: x, y: y) == colour { n += 1 } }
            return n
        }
        #expect(count(LineChart.palette[0]) > 50)
        #expect(count(LineChart.palette[1]) > 20)
        #expect(LineChart.label(0.000123) == "1.23e-04" && LineChart.label(12.5) == "12.5")
    }

    @Test func rectangleOutlineIsClippedAndHollow() throws {
        var image = try Image(width: 10, height: 8, channels: 3, fill: [0])
        image.drawRectangle(top: 2, left: 3, bottom: 6, right: 12, thickness: 1, color: [1, 0, 0])
        #expect(image.pixel(x: 3, y: 2) == [1, 0, 0] && image.pixel(x: 9, y: 5) == [1, 0, 0])
        #expect(image.pixel(x: 5, y: 4) == [0, 0, 0])   // inside stays
        #expect(image.pixel(x: 2, y: 2) == [0, 0, 0])   // outside stays
        image.drawRectangle(top: 5, left: 5, bottom: 5, right: 9, color: [1])   // empty: no effect, no crash
    }
}
