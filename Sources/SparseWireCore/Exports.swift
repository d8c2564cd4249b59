// SparseWireCore is the one product and the one import of a Swift user: it re-exports every
// layer of the engine (docs/ARCHITECTURE.md has the target graph).
@_exported import SparseWireTensor
@_exported import SparseWireAutograd
@_exported import SparseWireNetworks
@_exported import SparseWireData
@_exported import SparseWireMasking
@_exported import SparseWireOptim
@_exported import SparseWireConfig
@_exported import SparseWireTraining
@_exported import SparseWireInterchange
