import Testing
@testable import SwapIO

/// The line chart `plot` draws.
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
}
