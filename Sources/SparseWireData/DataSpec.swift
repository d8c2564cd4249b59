import SparseWireTensor
/// Which data a run trains on: the typed form of the `data.*` config keys.
public struct DataSpec: Sendable, Equatable {
    /// The known dataset names: IDX files (MNIST layout) or CIFAR-10 binary batches.
    public static let names = ["fashion-mnist", "mnist", "cifar10"]
    /// Where Debian's dataset-fashion-mnist package puts Fashion-MNIST.
    public static let defaultFashionMNISTPath = "/usr/share/datasets/fashion-mnist"

    /// One of `names`.
    public var dataset: String
    /// Directory of the dataset files; empty means `defaultFashionMNISTPath` for Fashion-MNIST.
    public var path: String
    /// Standardise each channel with the training set's mean and standard deviation.
    public var normalize: Bool
    /// Use only the first N training examples (0 = all).
    public var trainLimit: Int
    /// Use only the first N test examples (0 = all).
    public var testLimit: Int

    /// A spec with the config's defaults (Fashion-MNIST at its default path, normalised, no limits);
    /// nothing is checked here.
    public init(dataset: String = "fashion-mnist", path: String = "", normalize: Bool = true, trainLimit: Int = 0, testLimit: Int = 0) {
        self.dataset = dataset; self.path = path; self.normalize = normalize; self.trainLimit = trainLimit; self.testLimit = testLimit
    }

    /// The input geometry of the named dataset, known without reading it.
    /// Errors: `.config` for a name not in `names`.
    public var inputSpec: InputSpec {
        get throws {
            switch dataset {
            case "fashion-mnist", "mnist": return InputSpec(channels: 1, height: 28, width: 28, classes: 10)
            case "cifar10": return InputSpec(channels: 3, height: 32, width: 32, classes: 10)
            default: throw SparseWireError.config("unknown data.dataset '\(dataset)'; known: \(DataSpec.names.joined(separator: ", "))")
            }
        }
    }

    /// Reads the train and test sets, applies the limits, then standardises both with the
    /// training set's statistics when `normalize` is set.
    /// Errors: `.config` (no path for a dataset that needs one), `.io` / `.data` from the readers.
    public func load() throws -> (train: Dataset, test: Dataset) {
        var train: Dataset, test: Dataset
        switch dataset {
        case "cifar10":
            guard !path.isEmpty else { throw SparseWireError.config("data.path must name the cifar-10-batches-bin directory") }
            train = try CIFAR10Reader.load(directory: path, train: true)
            test = try CIFAR10Reader.load(directory: path, train: false)
        default:
            var dir = path
            if dir.isEmpty {
                guard dataset == "fashion-mnist" else { throw SparseWireError.config("data.path must name the \(dataset) directory") }
                dir = DataSpec.defaultFashionMNISTPath
            }
            train = try IDXReader.loadMNISTLayout(directory: dir, train: true, name: dataset)
            test = try IDXReader.loadMNISTLayout(directory: dir, train: false, name: dataset)
        }
        train = train.prefix(trainLimit)
        test = test.prefix(testLimit)
        if normalize { try Dataset.standardize(train: train, test: test) }
        return (train, test)
    }
}
