import Foundation
import XCTest
import SparseWireCore

/// Each engine owns its runtime: two engines at 1 and 2 threads, trained at the same time on two
/// threads, each run its loops at their own thread count, and each gives exactly what it gives
/// when trained alone.
final class RuntimeTests: XCTestCase {
    struct Run: Equatable {
        var losses: [Double]
        var weights: [[Float]]
        var threadsSeen: Set<Int>
    }

    func makeTrainer(threads: Int, seed: Int) throws -> Trainer {
        // Conv layers and a 2-thread split: the loops (im2col chunks, elementwise kernels) really split.
        let cfg = try Config(yaml: """
        model: {name: conv2, width: 0.25}
        policy: rigl
        density: 0.3
        batch_size: 16
        epochs: 2
        seed: \(seed)
        threads: \(threads)
        optimizer: {lr: 0.05}
        """)
        return try Trainer(config: cfg, train: try syntheticImages(count: 96, seed: 11), test: try syntheticImages(count: 32, seed: 12))
    }

    static func train(_ t: Trainer) throws -> Run {
        var seen = Set<Int>()
        var losses: [Double] = []
        for _ in 0..<2 {
            try t.trainEpoch { event in
                seen.insert(Parallel.threads)  // observed inside the engine's runtime
                if case let .step(_, _, _, loss, _, _) = event { losses.append(loss) }
                return true
            }
        }
        return Run(losses: losses, weights: t.network.parameters.map(\.value.array), threadsSeen: seen)
    }

    func testTwoEnginesAtOneAndTwoThreadsRunConcurrentlyAsTheyRunAlone() throws {
        let alone = [try Self.train(try makeTrainer(threads: 1, seed: 3)), try Self.train(try makeTrainer(threads: 2, seed: 4))]
        XCTAssertEqual(alone[0].threadsSeen, [1])
        XCTAssertEqual(alone[1].threadsSeen, [2])

        let trainers = [try makeTrainer(threads: 1, seed: 3), try makeTrainer(threads: 2, seed: 4)]
        XCTAssertEqual(trainers.map(\.runtime.threads), [1, 2])
        nonisolated(unsafe) var together: [Run?] = [nil, nil]
        nonisolated(unsafe) var failures: [Error] = []
        let lock = NSLock()
        let group = DispatchGroup()
        for i in 0..<2 {
            nonisolated(unsafe) let t = trainers[i]
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                do {
                    let r = try RuntimeTests.train(t)
                    lock.lock(); together[i] = r; lock.unlock()
                } catch {
                    lock.lock(); failures.append(error); lock.unlock()
                }
            }
        }
        group.wait()
        XCTAssertTrue(failures.isEmpty, "\(failures)")
        XCTAssertEqual(together[0], alone[0], "the 1-thread engine, trained beside the other, differs from its run alone")
        XCTAssertEqual(together[1], alone[1], "the 2-thread engine, trained beside the other, differs from its run alone")
        // Outside any engine, the calling thread's own setting is in force (none here: 1).
        XCTAssertEqual(EngineRuntime.resolve(threads: 0), ProcessInfo.processInfo.activeProcessorCount)
    }

    func testARuntimeIsCurrentOnlyInsideRunAndNests() {
        let outer = EngineRuntime(threads: 3), inner = EngineRuntime(threads: 2)
        let before = Parallel.threads
        outer.run {
            XCTAssertEqual(Parallel.threads, 3)
            inner.run { XCTAssertEqual(Parallel.threads, 2) }
            XCTAssertEqual(Parallel.threads, 3)
            // The loops split over the current runtime's workers.
            var workers = Set<Int>()
            let lock = NSLock()
            Parallel.forEachRange(300, workers: Parallel.threads) { w, _, _ in lock.lock(); workers.insert(w); lock.unlock() }
            XCTAssertEqual(workers, [0, 1, 2])
        }
        XCTAssertEqual(Parallel.threads, before)
    }
}

/// 8×8 single-channel images of 3 classes (a bright quadrant), with noise.
func syntheticImages(count: Int, seed: UInt64) throws -> Dataset {
    var rng = RNG(seed: seed)
    var feats = [Float](), labels = [Int32]()
    for _ in 0..<count {
        let c = rng.int(below: 3)
        labels.append(Int32(c))
        for y in 0..<8 { for x in 0..<8 {
            let q = (y < 4 ? 0 : 1) + (x < 4 ? 0 : 1)
            feats.append((q == c ? 1 : 0) + rng.normal() * 0.2)
        } }
    }
    return try feats.withUnsafeBufferPointer { f in try labels.withUnsafeBufferPointer {
        try Dataset(name: "images", features: f.baseAddress!, shape: [count, 1, 8, 8], labels: $0.baseAddress!, classes: 3) } }
}
