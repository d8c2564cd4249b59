import XCTest
import CKernels
import SparseWireCore

/// `SPARSEWIRE_BLAS_CORE=auto` and the faster-core report (issue 19), on described CPUs.
final class BLASCoreChoiceTests: XCTestCase {
    let avx512 = CPUFeatures(bits: UInt32(SWK_CPU_AVX2 | SWK_CPU_FMA | SWK_CPU_AVX512F | SWK_CPU_AVX512BW | SWK_CPU_AVX512VL))
    let avx2 = CPUFeatures(bits: UInt32(SWK_CPU_AVX2 | SWK_CPU_FMA))
    func passing(_ core: String) -> OpenBLASCoreChoice.SelfTest? { .init(core: core, passed: true, maxError: 1e-7, gflops: 90) }

    func testTheFasterCoreIsOnlyNamedWhenTheEnvironmentSetASlowerOne() {
        XCTAssertEqual(OpenBLASCoreChoice.fasterCore(environment: ["OPENBLAS_CORETYPE": "Haswell"], features: avx512), "SkylakeX")
        XCTAssertNil(OpenBLASCoreChoice.fasterCore(environment: ["OPENBLAS_CORETYPE": "SkylakeX"], features: avx512))
        XCTAssertNil(OpenBLASCoreChoice.fasterCore(environment: [:], features: avx512), "unset: the CLI picks the best itself")
        XCTAssertNil(OpenBLASCoreChoice.fasterCore(environment: ["OPENBLAS_CORETYPE": "Haswell"], features: avx2))
        XCTAssertEqual(OpenBLASCoreChoice.fasterCore(environment: ["OPENBLAS_CORETYPE": "Prescott"], features: avx2), "Haswell")
    }

    func testAutoSwitchesOnlyAfterAPassingSelfTest() throws {
        var notes: [String] = []
        let env = ["OPENBLAS_CORETYPE": "Haswell", "SPARSEWIRE_BLAS_CORE": "auto"]
        XCTAssertEqual(try OpenBLASCoreChoice.autoChoice(environment: env, features: avx512, test: passing, note: { notes.append($0) }), "SkylakeX")
        XCTAssertTrue(notes.last!.contains("using OpenBLAS core SkylakeX instead of the environment's Haswell"), notes.last!)
        // A failing or missing self-test, or a child that ran another core, keeps the user's core.
        let failing: (String) -> OpenBLASCoreChoice.SelfTest? = { .init(core: $0, passed: false, maxError: 0.3, gflops: 90) }
        XCTAssertNil(try OpenBLASCoreChoice.autoChoice(environment: env, features: avx512, test: failing, note: { notes.append($0) }))
        XCTAssertTrue(notes.last!.contains("failed its self-test"), notes.last!)
        XCTAssertNil(try OpenBLASCoreChoice.autoChoice(environment: env, features: avx512, test: { _ in nil }, note: { notes.append($0) }))
        XCTAssertTrue(notes.last!.contains("did not run; keeping Haswell"), notes.last!)
        XCTAssertNil(try OpenBLASCoreChoice.autoChoice(environment: env, features: avx512, test: { _ in self.passing("Prescott") }, note: { _ in }))
        // Without auto, once chosen, or with nothing faster: no test runs at all.
        for e in [["OPENBLAS_CORETYPE": "Haswell"], env.merging(["SPARSEWIRE_BLAS_CORE_CHOSEN": "1"]) { $1 },
                  ["OPENBLAS_CORETYPE": "SkylakeX", "SPARSEWIRE_BLAS_CORE": "auto"]] {
            XCTAssertNil(try OpenBLASCoreChoice.autoChoice(environment: e, features: avx512, test: { _ in XCTFail("tested"); return nil }, note: { _ in }))
        }
        XCTAssertThrowsError(try OpenBLASCoreChoice.autoChoice(environment: ["SPARSEWIRE_BLAS_CORE": "fastest"], features: avx512,
                                                               test: passing, note: { _ in })) {
            XCTAssertTrue("\($0)".contains("SPARSEWIRE_BLAS_CORE must be auto or env") && "\($0)".contains("fastest"), "\($0)")
        }
    }

    func testTheSelfTestPassesOnTheLoadedCore() {
        let t = OpenBLASCoreChoice.selfTest()
        XCTAssertTrue(t.passed, "\(t)")
        XCTAssertLessThan(t.maxError, OpenBLASCoreChoice.tolerance)
        XCTAssertEqual(t.core, BLAS.coreName)
    }
}
