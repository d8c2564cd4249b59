import CSparseWire
import Foundation
import SparseWireCore

@c @implementation
public func sw_engine_create(_ config: UnsafePointer<CChar>?, _ out: UnsafeMutablePointer<OpaquePointer?>?) -> sw_status {
    out?.pointee = nil
    return guarded("sw_engine_create") {
        let out = try require(out, "out")
        let cfg = try parseConfig(config)
        try PolicyRegistry.validate(MaskingSpec(config: cfg))
        out.pointee = EngineHandle.table.add(EngineHandle(config: cfg))
    }
}

@c @implementation
public func sw_engine_destroy(_ engine: OpaquePointer?) {
    _ = EngineHandle.table.remove(engine)
}

@c @implementation
public func sw_engine_set(_ engine: OpaquePointer?, _ key: UnsafePointer<CChar>?, _ value: UnsafePointer<CChar>?) -> sw_status {
    engineCall(engine, "sw_engine_set") {
        let e = try EngineHandle.table.get(engine)
        let k = try string(key, "key"), v = try string(value, "value")
        try e.requireNotBuilt("set '\(k)'")
        // The key and its value are checked now; how keys combine (policy, its options, density)
        // when the network is built, so keys can be set in any order.
        var next = e.config
        try next.set(k, v)
        e.config = next
    }
}

@c @implementation
public func sw_engine_load_dataset(_ engine: OpaquePointer?, _ name: UnsafePointer<CChar>?, _ path: UnsafePointer<CChar>?) -> sw_status {
    engineCall(engine, "sw_engine_load_dataset") {
        let e = try EngineHandle.table.get(engine)
        try e.requireNotBuilt("load a dataset")
        var cfg = e.config
        if let n = try optionalString(name, "name") { try cfg.set("data.dataset", value: .string(n)) }
        if let p = try optionalString(path, "path") { try cfg.set("data.path", value: .string(p)) }
        let (train, test) = try DataSpec(config: cfg).load()
        e.config = cfg
        e.train = train; e.test = test
    }
}

@c @implementation
public func sw_engine_set_data(_ engine: OpaquePointer?,
                               _ trainX: UnsafePointer<Float>?, _ trainY: UnsafePointer<Int32>?, _ trainN: UInt64,
                               _ testX: UnsafePointer<Float>?, _ testY: UnsafePointer<Int32>?, _ testN: UInt64,
                               _ channels: UInt32, _ height: UInt32, _ width: UInt32, _ classes: UInt32) -> sw_status {
    engineCall(engine, "sw_engine_set_data") {
        let e = try EngineHandle.table.get(engine)
        try e.requireNotBuilt("set data")
        let tx = try require(trainX, "train_x"), ty = try require(trainY, "train_y")
        let vx = try require(testX, "test_x"), vy = try require(testY, "test_y")
        guard trainN > 0, testN > 0 else { throw SparseWireError.data("train_n (\(trainN)) and test_n (\(testN)) must be > 0") }
        guard channels > 0, height > 0, width > 0 else {
            throw SparseWireError.shape("channels × height × width must be positive, got \(channels)×\(height)×\(width)")
        }
        guard classes >= 2, classes <= 1_000_000 else { throw SparseWireError.data("classes must be in 2…1000000, got \(classes)") }
        let per = UInt64(channels) * UInt64(height) * UInt64(width)
        guard trainN < (1 << 40) / per, testN < (1 << 40) / per else { throw SparseWireError.shape("dataset too large: \(trainN)+\(testN) × \(per) floats") }
        try MemoryBudget.check(Double(trainN + testN) * Double(per) * 4, limit: try RuntimeSpec(config: e.config).memoryLimit,
                               what: "set_data's \(trainN) + \(testN) examples of \(channels)×\(height)×\(width)",
                               detail: "one Float32 copy of both sets")
        let shape = [Int(channels), Int(height), Int(width)]
        let train = try Dataset(name: "train", features: tx, shape: [Int(trainN)] + shape, labels: ty, classes: Int(classes))
        let test = try Dataset(name: "test", features: vx, shape: [Int(testN)] + shape, labels: vy, classes: Int(classes))
        if DataSpec(config: e.config).normalize { try Dataset.standardize(train: train, test: test) }
        e.train = train; e.test = test
    }
}

private func progressObserver(_ fn: sw_progress_fn?, _ user: UnsafeMutableRawPointer?) -> (TrainEvent) -> Bool {
    guard let fn else { return { _ in true } }
    return { event in
        var p = sw_progress()
        p.struct_size = UInt32(MemoryLayout<sw_progress>.size)
        switch event {
        case let .step(epoch, step, of, loss, accuracy, lr):
            p.epoch = Int32(epoch); p.step = Int64(step); p.steps_in_epoch = Int64(of)
            p.loss = loss; p.accuracy = accuracy; p.lr = lr
        case let .epochEnd(m):
            p.epoch_end = 1; p.epoch = Int32(m.epoch); p.loss = m.trainLoss; p.accuracy = m.trainAccuracy
            p.lr = m.lr; p.test_loss = m.testLoss; p.test_accuracy = m.testAccuracy
        }
        return fn(&p, user) == 0
    }
}

private func checkSize(_ out: UnsafeMutablePointer<sw_epoch_result>?) throws {
    guard let out else { return }
    guard out.pointee.struct_size >= UInt32(MemoryLayout<sw_epoch_result>.size) else {
        throw BoundaryError.argument("result->struct_size is \(out.pointee.struct_size); set it to sizeof(sw_epoch_result) = \(MemoryLayout<sw_epoch_result>.size)")
    }
}

private func fill(_ out: UnsafeMutablePointer<sw_epoch_result>?, _ m: EpochMetrics) {
    guard let out else { return }
    out.pointee.epoch = Int32(m.epoch); out.pointee.train_loss = m.trainLoss; out.pointee.train_accuracy = m.trainAccuracy
    out.pointee.test_loss = m.testLoss; out.pointee.test_accuracy = m.testAccuracy
    out.pointee.seconds = m.seconds; out.pointee.ms_per_step = m.msPerStep
}

@c @implementation
public func sw_engine_train_step(_ engine: OpaquePointer?, _ loss: UnsafeMutablePointer<Double>?, _ correct: UnsafeMutablePointer<Int64>?) -> sw_status {
    engineCall(engine, "sw_engine_train_step") {
        let t = try EngineHandle.table.get(engine).requireTrainer("training")
        let (l, c) = try t.nextStep()
        loss?.pointee = l
        correct?.pointee = Int64(c)
    }
}

@c @implementation
public func sw_engine_train_epoch(_ engine: OpaquePointer?, _ progress: sw_progress_fn?, _ userData: UnsafeMutableRawPointer?,
                                  _ result: UnsafeMutablePointer<sw_epoch_result>?) -> sw_status {
    engineCall(engine, "sw_engine_train_epoch") {
        let t = try EngineHandle.table.get(engine).requireTrainer("training")
        try checkSize(result)
        do {
            fill(result, try t.trainEpoch(observer: progressObserver(progress, userData)))
        } catch is TrainingStopped {
            if let m = t.history.last { fill(result, m) }
        }
    }
}

@c @implementation
public func sw_engine_train(_ engine: OpaquePointer?, _ epochs: Int32, _ progress: sw_progress_fn?, _ userData: UnsafeMutableRawPointer?) -> sw_status {
    engineCall(engine, "sw_engine_train") {
        let t = try EngineHandle.table.get(engine).requireTrainer("training")
        let n = epochs > 0 ? Int(epochs) : Swift.max(0, t.spec.training.epochs - t.epochsDone)
        let observe = progressObserver(progress, userData)
        for _ in 0..<n {
            do { try t.trainEpoch(observer: observe) } catch is TrainingStopped { return }
        }
    }
}

/// Trains `epochs` more epochs (nil: to the config's end); the callback's stop is reported
/// through `stopped` instead of being indistinguishable from completion.
private func train(_ engine: OpaquePointer?, _ function: String, epochs: Int?, _ progress: sw_progress_fn?,
                   _ userData: UnsafeMutableRawPointer?, _ stopped: UnsafeMutablePointer<Int32>?) -> sw_status {
    stopped?.pointee = 0
    return engineCall(engine, function) {
        let t = try EngineHandle.table.get(engine).requireTrainer("training")
        var n = epochs ?? Swift.max(0, t.spec.training.epochs - t.epochsDone)
        if n == 0, t.openEpoch != nil { n = 1 }  // finish the epoch a stop left open
        let observe = progressObserver(progress, userData)
        for _ in 0..<n {
            do { try t.trainEpoch(observer: observe) } catch is TrainingStopped { stopped?.pointee = 1; return }
        }
    }
}

@c @implementation
public func sw_engine_train_epochs(_ engine: OpaquePointer?, _ epochs: UInt32, _ progress: sw_progress_fn?,
                                   _ userData: UnsafeMutableRawPointer?, _ stopped: UnsafeMutablePointer<Int32>?) -> sw_status {
    guard epochs >= 1 else {
        stopped?.pointee = 0
        return guarded("sw_engine_train_epochs") { throw BoundaryError.argument("epochs must be ≥ 1, got 0 (sw_engine_train_to_end trains what the config has left)") }
    }
    return train(engine, "sw_engine_train_epochs", epochs: Int(epochs), progress, userData, stopped)
}

@c @implementation
public func sw_engine_train_to_end(_ engine: OpaquePointer?, _ progress: sw_progress_fn?, _ userData: UnsafeMutableRawPointer?,
                                   _ stopped: UnsafeMutablePointer<Int32>?) -> sw_status {
    train(engine, "sw_engine_train_to_end", epochs: nil, progress, userData, stopped)
}

@c @implementation
public func sw_engine_build(_ engine: OpaquePointer?) -> sw_status {
    engineCall(engine, "sw_engine_build") {
        _ = try EngineHandle.table.get(engine).requireTrainer("building the network")
    }
}

@c @implementation
public func sw_engine_is_built(_ engine: OpaquePointer?, _ built: UnsafeMutablePointer<Int32>?) -> sw_status {
    guarded("sw_engine_is_built") {
        let e = try EngineHandle.table.get(engine)
        try require(built, "built").pointee = e.trainer == nil ? 0 : 1
    }
}

@c @implementation
public func sw_engine_input_shape(_ engine: OpaquePointer?, _ channels: UnsafeMutablePointer<UInt32>?, _ height: UnsafeMutablePointer<UInt32>?,
                                  _ width: UnsafeMutablePointer<UInt32>?, _ classes: UnsafeMutablePointer<UInt32>?) -> sw_status {
    guarded("sw_engine_input_shape") {
        let e = try EngineHandle.table.get(engine)
        guard let train = e.train else {
            throw SparseWireError(.state, "the input shape comes from the data: call sw_engine_load_dataset or sw_engine_set_data first")
        }
        let s = train.spec
        channels?.pointee = UInt32(s.channels); height?.pointee = UInt32(s.height); width?.pointee = UInt32(s.width)
        classes?.pointee = UInt32(s.classes)
    }
}

@c @implementation
public func sw_engine_progress(_ engine: OpaquePointer?, _ epochsDone: UnsafeMutablePointer<Int64>?, _ stepsDone: UnsafeMutablePointer<Int64>?) -> sw_status {
    guarded("sw_engine_progress") {
        let e = try EngineHandle.table.get(engine)
        epochsDone?.pointee = Int64(e.trainer?.epochsDone ?? 0)
        stepsDone?.pointee = Int64(e.trainer?.globalStep ?? 0)
    }
}

@c @implementation
public func sw_engine_request_stop(_ engine: OpaquePointer?) -> sw_status {
    guarded("sw_engine_request_stop") {
        guard let t = try EngineHandle.table.get(engine).trainer else {
            throw SparseWireError(.state, "nothing to stop: the network is not built yet (no training call has run)")
        }
        t.requestStop()
    }
}

@c @implementation
public func sw_engine_evaluate(_ engine: OpaquePointer?, _ loss: UnsafeMutablePointer<Double>?, _ accuracy: UnsafeMutablePointer<Double>?) -> sw_status {
    engineCall(engine, "sw_engine_evaluate") {
        let t = try EngineHandle.table.get(engine).requireTrainer("evaluation")
        let (l, a) = try t.evaluate()
        loss?.pointee = l
        accuracy?.pointee = a
    }
}

@c @implementation
public func sw_engine_predict(_ engine: OpaquePointer?, _ x: UnsafePointer<Float>?, _ n: UInt64, _ xCount: UInt64,
                              _ logits: UnsafeMutablePointer<Float>?, _ logitsCount: UInt64) -> sw_status {
    engineCall(engine, "sw_engine_predict") {
        let t = try EngineHandle.table.get(engine).requireTrainer("predict")
        let x = try require(x, "x"), logits = try require(logits, "logits")
        let spec = t.train.spec
        guard n > 0, n < (1 << 32) else { throw SparseWireError.shape("n must be in 1…2^32, got \(n)") }
        guard xCount == n * UInt64(spec.features) else {
            throw SparseWireError.shape("x_count is \(xCount); n × C×H×W = \(n) × \(spec.channels)×\(spec.height)×\(spec.width) = \(n * UInt64(spec.features))")
        }
        guard logitsCount == n * UInt64(spec.classes) else {
            throw SparseWireError.shape("logits_count is \(logitsCount); n × classes = \(n) × \(spec.classes) = \(n * UInt64(spec.classes))")
        }
        let chunk = t.spec.training.evalBatchSize
        var start = 0
        while start < Int(n) {
            let m = Swift.min(chunk, Int(n) - start)
            let batch = Tensor(shape: [m, spec.channels, spec.height, spec.width])
            batch.data.update(from: x + start * spec.features, count: batch.count)
            let out = try t.predict(batch)
            (logits + start * spec.classes).update(from: out.data, count: m * spec.classes)
            start += m
        }
    }
}
