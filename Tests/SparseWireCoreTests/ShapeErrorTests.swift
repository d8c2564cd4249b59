import XCTest
import SparseWireCore

/// Every layer refuses inputs of the wrong shape with a shape error naming the shapes.
final class ShapeErrorTests: XCTestCase {
    let c = Context(training: true)

    func v(_ shape: [Int]) -> Var { Var(Tensor(shape: shape), requiresGrad: true) }

    func assertShapeError(_ what: String, _ body: () throws -> Any, mentions: String, line: UInt = #line) {
        XCTAssertThrowsError(try body(), what, line: line) { e in
            guard let e = e as? SparseWireError else { return XCTFail("\(what): not a SparseWireError: \(e)", line: line) }
            XCTAssertEqual(e.kind, .shape, "\(what): \(e)", line: line)
            XCTAssertTrue(e.message.contains(mentions), "\(what): message '\(e.message)' should mention \(mentions)", line: line)
        }
    }

    func testLinear() {
        assertShapeError("in features", { try self.c.linear(self.v([2, 5]), self.v([3, 4]), nil) }, mentions: "[3, 4]")
        assertShapeError("rank", { try self.c.linear(self.v([2, 5, 1]), self.v([3, 5]), nil) }, mentions: "[2, 5, 1]")
        assertShapeError("bias", { try self.c.linear(self.v([2, 5]), self.v([3, 5]), self.v([4])) }, mentions: "[4]")
    }

    func testConv2d() {
        assertShapeError("channels", { try self.c.conv2d(self.v([1, 3, 8, 8]), self.v([4, 2, 3, 3]), nil) }, mentions: "3 channels")
        assertShapeError("rank", { try self.c.conv2d(self.v([3, 8, 8]), self.v([4, 3, 3, 3]), nil) }, mentions: "[3, 8, 8]")
        assertShapeError("kernel too big", { try self.c.conv2d(self.v([1, 1, 2, 2]), self.v([1, 1, 3, 3]), nil) }, mentions: "3×3")
        assertShapeError("stride", { try self.c.conv2d(self.v([1, 1, 4, 4]), self.v([1, 1, 3, 3]), nil, stride: 0) }, mentions: "stride")
    }

    func testDepthwise() {
        assertShapeError("weight", { try self.c.depthwiseConv2d(self.v([1, 3, 8, 8]), self.v([3, 2, 3, 3]), nil) }, mentions: "[3, 2, 3, 3]")
    }

    func testPools() {
        assertShapeError("max rank", { try self.c.maxPool2d(self.v([2, 8]), kernel: 2) }, mentions: "[2, 8]")
        assertShapeError("max kernel", { try self.c.maxPool2d(self.v([1, 1, 2, 2]), kernel: 3) }, mentions: "kernel 3")
        assertShapeError("avg rank", { try self.c.avgPool2d(self.v([2, 8]), kernel: 2) }, mentions: "[2, 8]")
        assertShapeError("global rank", { try self.c.globalAvgPool(self.v([2, 8])) }, mentions: "[2, 8]")
    }

    func testNorms() {
        let rm = Tensor(shape: [4]), rv = Tensor(shape: [4])
        assertShapeError("bn stats", { try self.c.batchNorm(self.v([2, 3]), gamma: nil, beta: nil, runningMean: rm, runningVar: rv) }, mentions: "[3]")
        assertShapeError("bn one value", {
            try self.c.batchNorm(self.v([1, 4]), gamma: nil, beta: nil, runningMean: rm, runningVar: rv)
        }, mentions: "more than one value")
        assertShapeError("in rank", { try self.c.instanceNorm(self.v([2, 3]), gamma: nil, beta: nil) }, mentions: "[2, 3]")
        assertShapeError("in gamma", { try self.c.instanceNorm(self.v([2, 3, 2, 2]), gamma: self.v([2]), beta: nil) }, mentions: "[2]")
    }

    func testLossAndElementwise() {
        assertShapeError("labels", { try self.c.crossEntropy(self.v([3, 10]), labels: [1, 2]) }, mentions: "2 labels")
        assertShapeError("add", { try self.c.add(self.v([2, 3]), self.v([3, 2])) }, mentions: "[3, 2]")
        assertShapeError("mul", { try self.c.mul(self.v([2, 3]), self.v([2, 4])) }, mentions: "[2, 4]")
        assertShapeError("scale", { try self.c.scale(self.v([2, 3]), by: self.v([2])) }, mentions: "[2]")
        assertShapeError("reshape", { try self.c.reshape(self.v([2, 3]), [4, 2]) }, mentions: "[4, 2]")
        XCTAssertThrowsError(try c.crossEntropy(v([1, 3]), labels: [5])) { e in
            XCTAssertEqual((e as? SparseWireError)?.kind, .data)
        }
        XCTAssertThrowsError(try c.dropout(v([2]), p: 1))
    }

    func testModulesPropagateShapeErrors() throws {
        var rng = RNG(seed: 1)
        let net = try Models.convNet(depth: 4, input: InputSpec(channels: 1, height: 28, width: 28, classes: 10))
        Models.initialize(net, weightInit: .kaimingNormal(), rng: &rng)
        XCTAssertThrowsError(try net.forward(Var(Tensor(shape: [2, 3, 28, 28])), c))
        XCTAssertThrowsError(try Models.convNet(depth: 8, input: InputSpec(channels: 1, height: 8, width: 8, classes: 10)))
        XCTAssertThrowsError(try Models.convNet(depth: 5, input: InputSpec(channels: 1, height: 28, width: 28, classes: 10)))
    }
}
