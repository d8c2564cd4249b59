import XCTest
import SparseWireCore

final class GradientTests: XCTestCase {
    func testLinear() throws {
        try gradCheck([randomTensor([4, 5], seed: 1), randomTensor([3, 5], seed: 2), randomTensor([3], seed: 3)]) { v, c in
            try c.linear(v[0], v[1], v[2])
        }
    }

    func testLinearLargeEnoughToSplitOverThreads() throws {
        // 64·200·200 multiply-adds: above the size at which linear splits rows over threads.
        try gradCheck([randomTensor([64, 200], seed: 42), randomTensor([200, 200], seed: 43, scale: 0.1), randomTensor([200], seed: 44)]) { v, c in
            try c.linear(v[0], v[1], v[2])
        }
    }

    func testConv2dPadded() throws {
        try gradCheck([randomTensor([2, 3, 6, 5], seed: 1), randomTensor([4, 3, 3, 3], seed: 2), randomTensor([4], seed: 3)]) { v, c in
            try c.conv2d(v[0], v[1], v[2], stride: 1, padding: 1)
        }
    }

    func testConv2dStridedChunked() throws {
        // A tiny im2col budget forces several samples per chunk and several chunks.
        try gradCheck([randomTensor([5, 2, 7, 7], seed: 4), randomTensor([3, 2, 3, 3], seed: 5)]) { v, c in
            try c.conv2d(v[0], v[1], nil, stride: 2, padding: 1)
        }
    }

    func testConv2dPointwise() throws {
        // 3×3 planes: samples copied into chunks, one GEMM per chunk.
        try gradCheck([randomTensor([2, 4, 3, 3], seed: 6), randomTensor([5, 4, 1, 1], seed: 7), randomTensor([5], seed: 8)]) { v, c in
            try c.conv2d(v[0], v[1], v[2])
        }
        // 16×16 planes (≥ Context.pointwiseDirectPlane): one GEMM per sample on x itself.
        XCTAssertGreaterThanOrEqual(16 * 16, Context.pointwiseDirectPlane)
        try gradCheck([randomTensor([2, 3, 16, 16], seed: 36), randomTensor([2, 3, 1, 1], seed: 37), randomTensor([2], seed: 38)]) { v, c in
            try c.conv2d(v[0], v[1], v[2])
        }
    }

    func testDepthwiseConv() throws {
        try gradCheck([randomTensor([2, 3, 6, 6], seed: 9), randomTensor([3, 1, 3, 3], seed: 10), randomTensor([3], seed: 11)]) { v, c in
            try c.depthwiseConv2d(v[0], v[1], v[2], stride: 2, padding: 1)
        }
    }

    func testMaxPool() throws {
        try gradCheck([spreadTensor([2, 2, 6, 6], seed: 12)]) { v, c in try c.maxPool2d(v[0], kernel: 2) }
        try gradCheck([spreadTensor([1, 2, 7, 7], seed: 13)]) { v, c in try c.maxPool2d(v[0], kernel: 3, stride: 2, padding: 1) }
    }

    func testAvgAndGlobalPool() throws {
        try gradCheck([randomTensor([2, 2, 6, 6], seed: 14)]) { v, c in try c.avgPool2d(v[0], kernel: 2) }
        try gradCheck([randomTensor([2, 3, 4, 5], seed: 15)]) { v, c in try c.globalAvgPool(v[0]) }
    }

    func testReLUAndSigmoid() throws {
        try gradCheck([spreadTensor([3, 7], seed: 16)]) { v, c in c.relu(v[0]) }
        try gradCheck([randomTensor([3, 7], seed: 17, scale: 3)]) { v, c in c.sigmoid(v[0]) }
    }

    func testElementwise() throws {
        try gradCheck([randomTensor([2, 3], seed: 18), randomTensor([2, 3], seed: 19)]) { v, c in try c.add(v[0], v[1]) }
        try gradCheck([randomTensor([2, 3], seed: 20), randomTensor([2, 3], seed: 21)]) { v, c in try c.mul(v[0], v[1]) }
        try gradCheck([randomTensor([2, 3], seed: 22), randomTensor([1], seed: 23)]) { v, c in try c.scale(v[0], by: v[1]) }
        try gradCheck([randomTensor([2, 3, 2, 2], seed: 24)]) { v, c in try c.flatten(v[0]) }
    }

    func testBatchNormTrainAffine() throws {
        let rm = Tensor(shape: [3]), rv = Tensor(shape: [3], repeating: 1)
        try gradCheck([randomTensor([4, 3, 2, 2], seed: 25), randomTensor([3], seed: 26), randomTensor([3], seed: 27)], tol: 3e-2) { v, c in
            try c.batchNorm(v[0], gamma: v[1], beta: v[2], runningMean: rm, runningVar: rv)
        }
    }

    func testBatchNorm1dNonAffineAndEval() throws {
        let rm = Tensor(shape: [5]), rv = Tensor(shape: [5], repeating: 1)
        try gradCheck([randomTensor([6, 5], seed: 28)], tol: 3e-2) { v, c in
            try c.batchNorm(v[0], gamma: nil, beta: nil, runningMean: rm, runningVar: rv)
        }
        let rm2 = randomTensor([5], seed: 29), rv2 = Tensor(shape: [5], repeating: 2)
        try gradCheck([randomTensor([6, 5], seed: 30), randomTensor([5], seed: 31), randomTensor([5], seed: 32)], training: false) { v, c in
            try c.batchNorm(v[0], gamma: v[1], beta: v[2], runningMean: rm2, runningVar: rv2)
        }
    }

    func testBatchNormFusedWithReLUEqualsReLUOfBatchNorm() throws {
        // Training (batch statistics) and evaluation (running ones), [N, C, H, W] and [N, C]:
        // the fused op's output (and in training every gradient) equal relu(batchNorm(x)).
        for (shape, training) in [([4, 3, 5, 5], true), ([4, 3, 5, 5], false), ([9, 6], true)] {
            let c = shape[1]
            let x = randomTensor(shape, seed: 40), g = randomTensor([c], seed: 41), b = randomTensor([c], seed: 42)
            let seedGrad = randomTensor(shape, seed: 43)
            var outs: [(Tensor, Tensor, Tensor, Tensor)] = []
            for fused in [false, true] {
                let ctx = Context(training: training)
                let rm = Tensor(shape: [c], repeating: 0.1), rv = Tensor(shape: [c], repeating: 1.5)
                let (xv, gv, bv) = (Var(x, requiresGrad: true), Var(g, requiresGrad: true), Var(b, requiresGrad: true))
                let y = fused ? try ctx.batchNorm(xv, gamma: gv, beta: bv, runningMean: rm, runningVar: rv, relu: true)
                              : ctx.relu(try ctx.batchNorm(xv, gamma: gv, beta: bv, runningMean: rm, runningVar: rv))
                guard training else { outs.append((y.value, y.value, y.value, y.value)); continue }  // evaluation records no tape
                try y.backward(seed: seedGrad)
                outs.append((y.value, xv.grad!, gv.grad!, bv.grad!))
            }
            let label = "\(shape), training \(training)"
            XCTAssertGreaterThan(outs[0].0.array.filter { $0 == 0 }.count, 0, "the ReLU clips something, \(label)")
            for (a, b, what) in [(outs[0].0, outs[1].0, "y"), (outs[0].1, outs[1].1, "dx"), (outs[0].2, outs[1].2, "dγ"), (outs[0].3, outs[1].3, "dβ")] {
                for i in 0..<a.count { XCTAssertEqual(a[i], b[i], accuracy: 1e-5 * (1 + abs(a[i])), "\(what) \(i), \(label)") }
            }
        }
        let rm = Tensor(shape: [3]), rv = Tensor(shape: [3], repeating: 1)
        try gradCheck([randomTensor([4, 3, 2, 2], seed: 44), randomTensor([3], seed: 45), randomTensor([3], seed: 46)], tol: 3e-2) { v, c in
            try c.batchNorm(v[0], gamma: v[1], beta: v[2], runningMean: rm, runningVar: rv, relu: true)
        }
    }

    func testInstanceNorm() throws {
        try gradCheck([randomTensor([2, 3, 3, 3], seed: 33), randomTensor([3], seed: 34), randomTensor([3], seed: 35)], tol: 3e-2) { v, c in
            try c.instanceNorm(v[0], gamma: v[1], beta: v[2])
        }
        // Fused with the ReLU (finite differences would straddle its kink on 3×3 planes): the same
        // values and input gradient as relu(instanceNorm(x)), each of which is checked above.
        let x = randomTensor([3, 4, 5, 5], seed: 50), seedGrad = randomTensor([3, 4, 5, 5], seed: 51)
        var got: [(Tensor, Tensor)] = []
        for fused in [false, true] {
            let ctx = Context(training: true), xv = Var(x, requiresGrad: true)
            let y = fused ? try ctx.instanceNorm(xv, gamma: nil, beta: nil, relu: true) : ctx.relu(try ctx.instanceNorm(xv, gamma: nil, beta: nil))
            try y.backward(seed: seedGrad)
            got.append((y.value, xv.grad!))
        }
        for i in 0..<x.count {
            XCTAssertEqual(got[0].0[i], got[1].0[i], accuracy: 1e-5)
            XCTAssertEqual(got[0].1[i], got[1].1[i], accuracy: 1e-5 * (1 + abs(got[0].1[i])))
        }
    }

    func testDropoutUsesTheSameMaskInBackward() throws {
        // With a fixed context seed the forward is deterministic, so finite differences apply.
        try gradCheck([randomTensor([4, 6], seed: 36)]) { v, c in
            c.rng = RNG(seed: 5)
            return try c.dropout(v[0], p: 0.3)
        }
    }

    func testCrossEntropyWithLabelSmoothing() throws {
        for eps: Float in [0, 0.1] {
            try gradCheck([randomTensor([4, 5], seed: 37, scale: 2)]) { v, c in
                try c.crossEntropy(v[0], labels: [0, 3, 4, 1], labelSmoothing: eps)
            }
        }
    }

    func testCrossEntropyValue() throws {
        // Uniform logits: loss = log K whatever the smoothing.
        let c = Context(training: false)
        let l = try c.crossEntropy(Var(Tensor(shape: [2, 4])), labels: [1, 2], labelSmoothing: 0.2)
        XCTAssertEqual(l.value[0], logf(4), accuracy: 1e-5)
    }

    func testSharedInputAccumulates() throws {
        // x used twice: gradient of x ⊙ x is 2x, exercising accumulation of two contributions.
        try gradCheck([randomTensor([3, 4], seed: 38)]) { v, c in try c.mul(v[0], v[0]) }
    }

    func testSmallNetworkEndToEnd() throws {
        // conv → relu → pool → flatten → linear → CE, all parameters checked together.
        try gradCheck([randomTensor([2, 1, 6, 6], seed: 39), randomTensor([3, 1, 3, 3], seed: 40),
                       randomTensor([4, 27], seed: 41)]) { v, c in
            let h = try c.maxPool2d(c.relu(c.conv2d(v[0], v[1], nil, padding: 1)), kernel: 2)
            return try c.crossEntropy(c.linear(c.flatten(h), v[2], nil), labels: [1, 3])
        }
    }
}
